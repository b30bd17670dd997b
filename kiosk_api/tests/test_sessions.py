"""Citizen sessions from the eID card: nonce, signature, chain, national number; and every
way to get it wrong, each a 4xx with its code and nothing written."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from django.utils import timezone

from identity.constants import AssuranceLevel
from kiosk_api import demo_pki as pki
from kiosk_api.models import KioskSession, SessionNonce
from kiosk_api.tests.conftest import national_number

pytestmark = pytest.mark.django_db


def _answer(kiosk, card, **overrides):
    nonce = kiosk.call("post", "sessions/nonce/").json()["nonce"]
    body = {"nonce": nonce, "signature": card.sign(nonce), "certificates": card.certificates()}
    body.update(overrides)
    return nonce, body


def _refused(response, status, code):
    assert response.status_code == status, response.content
    assert response.json()["code"] == code
    assert KioskSession.objects.count() == 0


def test_eid_session_opens_for_the_card_holder_at_high_assurance(kiosk, citizen, card):
    nonce, body = _answer(kiosk, card)
    response = kiosk.call("post", "sessions/eid/", data=body)
    assert response.status_code == 201, response.json()
    payload = response.json()
    assert payload["assurance_level"] == AssuranceLevel.HIGH
    assert payload["citizen"] == {"first_names": "Marie", "last_name": "Dupont"}
    assert payload["language"] == "nl"  # the citizen's preferred language
    session = KioskSession.objects.get()
    assert session.user == citizen and session.terminal == kiosk.terminal
    assert session.token_sha256 != payload["token"]  # only the digest is stored
    assert SessionNonce.objects.get(value=nonce).used_at is not None
    me = kiosk.call("get", "session/", session=payload["token"])
    assert me.status_code == 200 and me.json()["citizen"]["last_name"] == "Dupont"


def test_ecdsa_p384_card_as_applet_1_8_signs_raw_and_der(kiosk, citizen, eid_pki, card_numbers):
    card = pki.make_card(eid_pki["citizen_ca"], national_number=card_numbers["marie"],
                         key_kind="ec")
    for raw in (True, False):
        nonce = kiosk.call("post", "sessions/nonce/").json()["nonce"]
        response = kiosk.call("post", "sessions/eid/", data={
            "nonce": nonce, "signature": card.sign(nonce, raw_ecdsa=raw),
            "certificates": card.certificates()})
        assert response.status_code == 201, response.json()


def test_replayed_nonce_is_refused(kiosk, citizen, card):
    _nonce, body = _answer(kiosk, card)
    assert kiosk.call("post", "sessions/eid/", data=body).status_code == 201
    response = kiosk.call("post", "sessions/eid/", data=body)
    assert response.status_code == 400 and response.json()["code"] == "nonce_used"
    assert KioskSession.objects.count() == 1


def test_expired_nonce_is_refused(kiosk, citizen, card):
    nonce, body = _answer(kiosk, card)
    SessionNonce.objects.filter(value=nonce).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1))
    _refused(kiosk.call("post", "sessions/eid/", data=body), 400, "nonce_expired")
    assert SessionNonce.objects.get(value=nonce).used_at is None


def test_unknown_nonce_is_refused(kiosk, citizen, card):
    nonce = base64.b64encode(b"x" * 32).decode()
    _refused(kiosk.call("post", "sessions/eid/", data={
        "nonce": nonce, "signature": card.sign(nonce), "certificates": card.certificates()}),
        400, "nonce_unknown")


def test_nonce_of_another_terminal_is_refused(kiosk, other_kiosk, citizen, card):
    _nonce, body = _answer(kiosk, card)
    _refused(other_kiosk.call("post", "sessions/eid/", data=body), 400, "nonce_unknown")


def test_wrong_signature_is_refused_and_nonce_stays_unused(kiosk, citizen, card, eid_pki,
                                                          card_numbers):
    nonce, body = _answer(kiosk, card)
    other_nonce = kiosk.call("post", "sessions/nonce/").json()["nonce"]
    body["signature"] = card.sign(other_nonce)  # a real signature, over the wrong challenge
    _refused(kiosk.call("post", "sessions/eid/", data=body), 403, "signature_invalid")
    assert SessionNonce.objects.get(value=nonce).used_at is None


def test_signature_of_another_key_with_this_certificate_is_refused(kiosk, citizen, card,
                                                                   eid_pki, card_numbers):
    thief = pki.make_card(eid_pki["citizen_ca"], national_number=card_numbers["marie"])
    nonce, body = _answer(kiosk, card)
    body["signature"] = thief.sign(nonce)
    _refused(kiosk.call("post", "sessions/eid/", data=body), 403, "signature_invalid")


def test_certificate_from_another_authority_is_refused(kiosk, citizen, eid_pki, card_numbers):
    forged = pki.make_card(eid_pki["foreign_ca"], national_number=card_numbers["marie"])
    _nonce, body = _answer(kiosk, forged)
    _refused(kiosk.call("post", "sessions/eid/", data=body), 403, "certificate_untrusted")


def test_chain_claiming_a_trusted_ca_name_but_signed_by_a_foreign_key_is_refused(
        kiosk, citizen, eid_pki, card_numbers):
    impostor_root = pki.make_root("Test Belgium Root CA")  # same name, other key
    impostor_ca = pki.make_sub_ca(impostor_root, "Test Citizen CA")
    forged = pki.make_card(impostor_ca, national_number=card_numbers["marie"])
    _nonce, body = _answer(kiosk, forged)
    _refused(kiosk.call("post", "sessions/eid/", data=body), 403, "certificate_untrusted")


def test_chain_without_the_citizen_ca_is_refused(kiosk, citizen, card):
    _nonce, body = _answer(kiosk, card)
    body["certificates"] = body["certificates"][:1]
    _refused(kiosk.call("post", "sessions/eid/", data=body), 403, "certificate_untrusted")


def test_expired_card_certificate_is_refused(kiosk, citizen, eid_pki, card_numbers):
    now = dt.datetime.now(dt.UTC)
    expired = pki.make_card(eid_pki["citizen_ca"], national_number=card_numbers["marie"],
                            not_before=now - dt.timedelta(days=3000),
                            not_after=now - dt.timedelta(days=1))
    _nonce, body = _answer(kiosk, expired)
    _refused(kiosk.call("post", "sessions/eid/", data=body), 403, "certificate_expired")


def test_invalid_national_number_in_the_certificate_is_refused(kiosk, citizen, eid_pki):
    bad = pki.make_card(eid_pki["citizen_ca"], national_number="85073112399")
    _nonce, body = _answer(kiosk, bad)
    _refused(kiosk.call("post", "sessions/eid/", data=body), 403, "national_number_invalid")


def test_card_of_someone_not_in_the_register_is_refused(kiosk, citizen, eid_pki):
    stranger = pki.make_card(eid_pki["citizen_ca"],
                             national_number=national_number(dt.date(1990, 1, 2), 45))
    _nonce, body = _answer(kiosk, stranger)
    _refused(kiosk.call("post", "sessions/eid/", data=body), 403, "citizen_unknown")


def test_terminal_cannot_assert_a_national_number(kiosk, citizen, card):
    """Extra fields are ignored: the number comes from the verified certificate only."""
    _nonce, body = _answer(kiosk, card, national_number="90010204567")
    response = kiosk.call("post", "sessions/eid/", data=body)
    assert response.status_code == 201
    assert KioskSession.objects.get().user == citizen


def test_garbage_certificate_and_signature_are_clear_400s(kiosk, citizen, card):
    _nonce, body = _answer(kiosk, card, certificates=["not base64!"])
    response = kiosk.call("post", "sessions/eid/", data=body)
    _refused(response, 400, "invalid")
    assert "certificates.0" in response.json()["errors"]
    _nonce, body = _answer(kiosk, card, certificates=[base64.b64encode(b"junk").decode()])
    _refused(kiosk.call("post", "sessions/eid/", data=body), 400, "certificate_invalid")
    _nonce, body = _answer(kiosk, card, signature="%%%")
    response = kiosk.call("post", "sessions/eid/", data=body)
    _refused(response, 400, "invalid")
    assert "signature" in response.json()["errors"]
    _nonce, body = _answer(kiosk, card, signature=base64.b64encode(b"short").decode())
    _refused(kiosk.call("post", "sessions/eid/", data=body), 403, "signature_invalid")


@pytest.mark.parametrize("missing", ["nonce", "signature", "certificates"])
def test_missing_fields_are_named(kiosk, citizen, card, missing):
    _nonce, body = _answer(kiosk, card)
    del body[missing]
    response = kiosk.call("post", "sessions/eid/", data=body)
    _refused(response, 400, "invalid")
    assert missing in response.json()["errors"]


def test_session_of_another_terminal_is_refused(kiosk, other_kiosk, citizen, card):
    token = kiosk.open_session(card)
    response = other_kiosk.call("get", "session/", session=token)
    assert response.status_code == 403
    assert response.json()["code"] == "session_wrong_terminal"


def test_session_ends_explicitly_and_after_idle_timeout(kiosk, citizen, card, settings):
    token = kiosk.open_session(card)
    assert kiosk.call("delete", "session/", session=token).status_code == 204
    response = kiosk.call("get", "session/", session=token)
    assert response.status_code == 401 and response.json()["code"] == "session_ended"

    token = kiosk.open_session(card)
    KioskSession.objects.filter(ended_at__isnull=True).update(
        last_activity_at=timezone.now()
        - dt.timedelta(seconds=settings.KIOSK_SESSION_IDLE_SECONDS + 1))
    response = kiosk.call("get", "session/", session=token)
    assert response.status_code == 401 and response.json()["code"] == "session_expired"
    assert KioskSession.objects.filter(end_reason="idle").count() == 1


def test_session_header_required_and_unknown_token_refused(kiosk, citizen):
    response = kiosk.call("get", "session/")
    assert response.status_code == 401 and response.json()["code"] == "session_required"
    response = kiosk.call("get", "session/", session="made-up")
    assert response.status_code == 401 and response.json()["code"] == "session_invalid"


def test_without_configured_trust_anchors_card_login_is_a_clear_503(kiosk, citizen, card,
                                                                   settings, tmp_path):
    for anchors in ([], [str(tmp_path / "missing.pem")]):
        settings.KIOSK_EID_TRUST_ANCHORS = anchors
        _nonce, body = _answer(kiosk, card)
        _refused(kiosk.call("post", "sessions/eid/", data=body), 503, "eid_unavailable")
