"""Passkeys, server side, against a software authenticator built here with `cryptography`:
a real ES256 key pair, a real "none" attestation and real signed assertions, checked by the
py_webauthn library (nothing of it is mocked)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct

import cbor2
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from identity import services
from identity.constants import AssuranceLevel, KeyKind
from identity.models import DigitalKey
from identity.selectors import SESSION_ASSURANCE_KEY
from identity.tests.conftest import make_person

ORIGIN = "http://testserver"
RP_ID = "testserver"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SoftwareAuthenticator:
    """A platform authenticator in a few lines: one ES256 credential, a signature counter."""

    def __init__(self, rp_id: str = RP_ID, origin: str = ORIGIN) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(32)
        self.rp_id, self.origin = rp_id, origin
        self.sign_count = 0
        self.user_handle = b""

    def _cose_public_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"),
                            -3: numbers.y.to_bytes(32, "big")})

    def _client_data(self, kind: str, challenge: str) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge, "origin": self.origin,
                           "crossOrigin": False}).encode()

    def create(self, options: dict) -> dict:
        assert options["rp"]["id"] == self.rp_id
        self.user_handle = unb64url(options["user"]["id"])
        rp_hash = hashlib.sha256(self.rp_id.encode()).digest()
        flags = 0x01 | 0x04 | 0x40  # user present, user verified, attested credential data
        attested = (b"\x00" * 16 + struct.pack(">H", len(self.credential_id))
                    + self.credential_id + self._cose_public_key())
        auth_data = rp_hash + bytes([flags]) + struct.pack(">I", self.sign_count) + attested
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        client_data = self._client_data("webauthn.create", options["challenge"])
        return {"id": b64url(self.credential_id), "rawId": b64url(self.credential_id),
                "type": "public-key",
                "response": {"clientDataJSON": b64url(client_data),
                             "attestationObject": b64url(attestation),
                             "transports": ["internal"]},
                "clientExtensionResults": {}, "authenticatorAttachment": "platform"}

    def get(self, options: dict, *, tamper: bool = False) -> dict:
        self.sign_count += 1
        rp_hash = hashlib.sha256(self.rp_id.encode()).digest()
        auth_data = rp_hash + bytes([0x01 | 0x04]) + struct.pack(">I", self.sign_count)
        client_data = self._client_data("webauthn.get", options["challenge"])
        signature = self.key.sign(auth_data + hashlib.sha256(client_data).digest(),
                                  ec.ECDSA(hashes.SHA256()))
        if tamper:
            signature = signature[:-1] + bytes([signature[-1] ^ 1])
        return {"id": b64url(self.credential_id), "rawId": b64url(self.credential_id),
                "type": "public-key",
                "response": {"clientDataJSON": b64url(client_data),
                             "authenticatorData": b64url(auth_data),
                             "signature": b64url(signature),
                             "userHandle": b64url(self.user_handle)},
                "clientExtensionResults": {}}


@pytest.fixture
def enrolled(client, officer, django_capture_on_commit_callbacks):
    person = make_person()
    with django_capture_on_commit_callbacks(execute=True):
        issued = services.activation_issue(officer=officer, person=person,
                                           email="pk@example.org", language="en")
    client.post(f"/en/account/activate/{issued.link_token}/", {"code": issued.code})
    return client


def register(client, authenticator, name="Laptop"):
    options = client.post("/en/account/keys/new/passkey/options/").json()
    body = authenticator.create(options) | {"keyName": name}
    return client.post("/en/account/keys/new/passkey/finish/", json.dumps(body),
                       content_type="application/json")


def login(client, authenticator, **kwargs):
    options = client.post("/en/account/login/passkey/options/").json()
    return client.post("/en/account/login/passkey/",
                       json.dumps(authenticator.get(options, **kwargs)),
                       content_type="application/json")


def test_passkey_registration_and_login_with_a_real_signature(enrolled):
    authenticator = SoftwareAuthenticator()
    response = register(enrolled, authenticator)
    assert response.status_code == 200, response.content
    key = DigitalKey.objects.get(kind=KeyKind.PASSKEY)
    assert key.name == "Laptop" and bytes(key.credential_id) == authenticator.credential_id
    enrolled.post("/en/account/logout/")
    response = login(enrolled, authenticator)
    assert response.status_code == 200, response.content
    assert enrolled.session[SESSION_ASSURANCE_KEY] == AssuranceLevel.SUBSTANTIAL
    key.refresh_from_db()
    assert key.sign_count == 1 and key.last_used_at is not None


def test_a_tampered_signature_or_an_unknown_credential_does_not_log_in(enrolled):
    authenticator = SoftwareAuthenticator()
    register(enrolled, authenticator)
    enrolled.post("/en/account/logout/")
    response = login(enrolled, authenticator, tamper=True)
    assert response.status_code == 400
    assert "_auth_user_id" not in enrolled.session
    stranger = SoftwareAuthenticator()
    assert login(enrolled, stranger).status_code == 400


def test_an_assertion_made_for_another_site_is_refused(enrolled):
    authenticator = SoftwareAuthenticator()
    register(enrolled, authenticator)
    enrolled.post("/en/account/logout/")
    phishing = authenticator
    phishing.origin = "https://guichet-login.example"
    assert login(enrolled, phishing).status_code == 400


def test_a_challenge_is_single_use(enrolled):
    authenticator = SoftwareAuthenticator()
    register(enrolled, authenticator)
    enrolled.post("/en/account/logout/")
    options = enrolled.post("/en/account/login/passkey/options/").json()
    assertion = json.dumps(authenticator.get(options))
    ok = enrolled.post("/en/account/login/passkey/", assertion, content_type="application/json")
    assert ok.status_code == 200
    enrolled.post("/en/account/logout/")
    replay = enrolled.post("/en/account/login/passkey/", assertion,
                           content_type="application/json")
    assert replay.status_code == 400


def test_registration_without_an_enrolment_or_a_strong_login_is_refused(client, db):
    assert client.post("/en/account/keys/new/passkey/options/").status_code == 403
