"""Digital keys (e-mail code, authenticator app) and the citizen login."""

import datetime
import re

import pyotp
import pytest
from django.core import mail
from django.utils import timezone

from core.errors import ValidationFailed
from identity import services
from identity.constants import AssuranceLevel, AuditAction, KeyKind
from identity.models import DigitalKey, EmailChallenge, IdentityAuditEvent
from identity.selectors import SESSION_ASSURANCE_KEY
from identity.tests.conftest import make_person


@pytest.fixture
def citizen(db):
    return services.citizen_account_for_person(person=make_person(), email="marie@example.org",
                                               language="fr")


@pytest.fixture
def enrolled(client, citizen, officer, django_capture_on_commit_callbacks):
    """A client that just redeemed an activation: may create keys for 30 minutes."""
    with django_capture_on_commit_callbacks(execute=True):
        issued = services.activation_issue(officer=officer, person=citizen.person,
                                           email=citizen.email, language="fr")
    response = client.post(f"/fr/account/activate/{issued.link_token}/", {"code": issued.code})
    assert response.status_code == 302
    mail.outbox.clear()
    return client


def last_code() -> str:
    return re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)


def create_email_key(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/fr/account/keys/new/email/", {"action": "send"})
    return client.post("/fr/account/keys/new/email/", {"action": "verify", "code": last_code()})


def create_totp_key(client, name="Mon téléphone"):
    page = client.get("/fr/account/keys/new/app/")
    assert page.status_code == 200
    assert "<svg" in page.content.decode()  # QR code inline
    secret = page.context["secret"]
    response = client.post("/fr/account/keys/new/app/",
                           {"code": pyotp.TOTP(secret).now(), "name": name})
    return response, secret


def test_e_mail_key_is_created_after_the_code_comes_back_and_logs_in_low(
        enrolled, citizen, django_capture_on_commit_callbacks):
    response = create_email_key(enrolled, django_capture_on_commit_callbacks)
    assert response.status_code == 302 and response["Location"] == "/fr/account/keys/"
    key = DigitalKey.objects.get(user=citizen)
    assert key.kind == KeyKind.EMAIL_OTP
    assert enrolled.session[SESSION_ASSURANCE_KEY] == AssuranceLevel.LOW
    assert IdentityAuditEvent.objects.filter(action=AuditAction.KEY_CREATED).count() == 1


def test_email_login_sends_a_hashed_code_that_works_once(client, citizen,
                                                         django_capture_on_commit_callbacks):
    DigitalKey.objects.create(user=citizen, kind=KeyKind.EMAIL_OTP, name="mail")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/fr/account/login/email/", {"email": "MARIE@example.org"})
    assert response.status_code == 302
    code = last_code()
    assert "Votre code" in mail.outbox[-1].subject or code in mail.outbox[-1].subject
    challenge = EmailChallenge.objects.get()
    assert code not in challenge.code_digest
    response = client.post("/fr/account/login/email/code/", {"code": code})
    assert response.status_code == 302
    assert client.session[SESSION_ASSURANCE_KEY] == AssuranceLevel.LOW
    assert int(client.session["_auth_user_id"]) == citizen.pk
    client.post("/fr/account/logout/")
    assert "_auth_user_id" not in client.session
    with pytest.raises(ValidationFailed) as exc:  # reuse
        services.email_challenge_verify(challenge_id=challenge.pk, user=citizen, code=code,
                                        purpose="login")
    assert exc.value.code == "otp_invalid"


def test_email_codes_expire_after_ten_minutes(citizen, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        challenge = services.email_challenge_send(user=citizen, purpose="login")
    assert challenge.expires_at - challenge.created_at == datetime.timedelta(minutes=10)
    EmailChallenge.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    with pytest.raises(ValidationFailed) as exc:
        services.email_challenge_verify(challenge_id=challenge.pk, user=citizen,
                                        code=last_code(), purpose="login")
    assert exc.value.code == "otp_expired"


def test_five_wrong_email_codes_burn_the_code(citizen, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        challenge = services.email_challenge_send(user=citizen, purpose="login")
    good = last_code()
    wrong = "000000" if good != "000000" else "111111"
    for _ in range(4):
        with pytest.raises(ValidationFailed) as exc:
            services.email_challenge_verify(challenge_id=challenge.pk, user=citizen, code=wrong,
                                            purpose="login")
        assert exc.value.code == "otp_wrong"
    with pytest.raises(ValidationFailed) as exc:
        services.email_challenge_verify(challenge_id=challenge.pk, user=citizen, code=wrong,
                                        purpose="login")
    assert exc.value.code == "otp_locked"
    with pytest.raises(ValidationFailed):
        services.email_challenge_verify(challenge_id=challenge.pk, user=citizen, code=good,
                                        purpose="login")


def test_unknown_address_gets_the_same_answer_and_no_mail(client, db):
    response = client.post("/fr/account/login/email/", {"email": "nobody@example.org"})
    assert response.status_code == 302
    assert mail.outbox == []
    response = client.post("/fr/account/login/email/code/", {"code": "123456"})
    assert response.status_code == 400
    assert "_auth_user_id" not in client.session
    assert IdentityAuditEvent.objects.filter(action=AuditAction.LOGIN_FAILURE).count() == 2


def test_totp_key_setup_and_login_give_substantial_and_refuse_replay(enrolled, citizen):
    response, secret = create_totp_key(enrolled)
    assert response.status_code == 302
    key = DigitalKey.objects.get(user=citizen, kind=KeyKind.TOTP)
    assert key.name == "Mon téléphone" and key.assurance_level == AssuranceLevel.SUBSTANTIAL
    enrolled.post("/fr/account/logout/")
    # the code used at setup cannot be replayed
    same = enrolled.post("/fr/account/login/app/", {"email": citizen.email,
                                                    "code": pyotp.TOTP(secret).now()})
    assert same.status_code == 400
    totp = pyotp.TOTP(secret)
    next_code = totp.at(timezone.now() + datetime.timedelta(seconds=30))
    ok = enrolled.post("/fr/account/login/app/", {"email": citizen.email, "code": next_code})
    assert ok.status_code == 302
    assert enrolled.session[SESSION_ASSURANCE_KEY] == AssuranceLevel.SUBSTANTIAL


def test_a_wrong_totp_code_at_setup_creates_nothing(enrolled, citizen):
    enrolled.get("/fr/account/keys/new/app/")
    response = enrolled.post("/fr/account/keys/new/app/", {"code": "000000", "name": ""})
    assert response.status_code == 400
    assert not DigitalKey.objects.filter(kind=KeyKind.TOTP).exists()


def test_a_low_login_cannot_add_a_substantial_key(client, citizen):
    DigitalKey.objects.create(user=citizen, kind=KeyKind.EMAIL_OTP, name="mail")
    client.force_login(citizen)
    session = client.session
    session[SESSION_ASSURANCE_KEY] = int(AssuranceLevel.LOW)
    session.save()
    response = client.get("/fr/account/keys/new/app/")
    assert response.status_code == 403
    assert "nouveau code d" in response.content.decode() or "activation" in response.content.decode()
    assert client.post("/fr/account/keys/new/passkey/options/").status_code == 403


def test_keys_can_be_listed_renamed_and_revoked_by_their_owner_only(client, citizen):
    key = DigitalKey.objects.create(user=citizen, kind=KeyKind.EMAIL_OTP, name="mail")
    other = services.citizen_account_for_person(person=make_person(last_name="Maes"),
                                                email="other@example.org")
    other_key = DigitalKey.objects.create(user=other, kind=KeyKind.EMAIL_OTP, name="theirs")
    client.force_login(citizen)
    page = client.get("/fr/account/keys/")
    assert page.status_code == 200 and "mail" in page.content.decode()
    assert "theirs" not in page.content.decode()
    client.post(f"/fr/account/keys/{key.pk}/rename/", {"name": "  Ma   boîte  "})
    key.refresh_from_db()
    assert key.name == "Ma boîte"
    client.post(f"/fr/account/keys/{other_key.pk}/rename/", {"name": "hacked"})
    client.post(f"/fr/account/keys/{other_key.pk}/revoke/")
    other_key.refresh_from_db()
    assert other_key.name == "theirs" and other_key.revoked_at is None
    client.post(f"/fr/account/keys/{key.pk}/revoke/")
    key.refresh_from_db()
    assert key.revoked_at is not None
    actions = set(IdentityAuditEvent.objects.values_list("action", flat=True))
    assert {AuditAction.KEY_RENAMED, AuditAction.KEY_REVOKED} <= actions


def test_a_revoked_key_no_longer_logs_in(client, citizen, django_capture_on_commit_callbacks):
    secret = pyotp.random_base32()
    DigitalKey.objects.create(user=citizen, kind=KeyKind.TOTP, totp_secret=secret, name="app",
                              revoked_at=timezone.now())
    response = client.post("/fr/account/login/app/", {"email": citizen.email,
                                                      "code": pyotp.TOTP(secret).now()})
    assert response.status_code == 400
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/fr/account/login/email/", {"email": citizen.email})
    assert mail.outbox == []


def test_login_is_rate_limited_per_account_and_audited(client, citizen, settings):
    settings.IDENTITY_RATE_PER_ACCOUNT = "3/15m"
    settings.IDENTITY_RATE_PER_IP = "100/15m"
    for _ in range(3):
        assert client.post("/en/account/login/app/", {"email": citizen.email,
                                                      "code": "123456"}).status_code == 400
    response = client.post("/en/account/login/app/", {"email": citizen.email, "code": "123456"})
    assert response.status_code == 429
    assert "Too many attempts" in response.content.decode()
    # another account from the same address is not blocked
    assert client.post("/en/account/login/app/", {"email": "x@example.org",
                                                  "code": "1"}).status_code == 400
    assert IdentityAuditEvent.objects.filter(action=AuditAction.RATE_LIMITED).count() == 1


def test_login_is_rate_limited_per_ip(client, db, settings):
    settings.IDENTITY_RATE_PER_ACCOUNT = "100/15m"
    settings.IDENTITY_RATE_PER_IP = "4/15m"
    for index in range(4):
        client.post("/de/account/login/app/", {"email": f"p{index}@example.org", "code": "1"})
    response = client.post("/de/account/login/app/", {"email": "new@example.org", "code": "1"})
    assert response.status_code == 429
    assert "Zu viele Versuche" in response.content.decode()


@pytest.mark.parametrize("target, expected", [
    ("/fr/requests/new/X/", "/fr/requests/new/X/"),
    ("https://evil.example/steal", "/"),
    ("//evil.example/", "/"),
])
def test_login_honours_next_only_on_this_site(client, citizen, target, expected):
    secret = pyotp.random_base32()
    DigitalKey.objects.create(user=citizen, kind=KeyKind.TOTP, totp_secret=secret, name="app")
    client.get("/fr/account/login/", {"next": target})
    response = client.post("/fr/account/login/app/", {"email": citizen.email,
                                                      "code": pyotp.TOTP(secret).now()})
    assert response.status_code == 302 and response["Location"] == expected


def test_login_page_renders_in_each_language_without_oidc_when_unconfigured(client, db, settings):
    settings.OIDC_RP_CLIENT_ID = ""
    for language, word in {"fr": "Se connecter", "nl": "Aanmelden", "de": "Anmelden",
                           "en": "Log in"}.items():
        page = client.get(f"/{language}/account/login/")
        assert page.status_code == 200
        assert word in page.content.decode()
        assert "/oidc/authenticate/" not in page.content.decode()


def test_bad_input_never_gives_a_500(client, citizen):
    assert client.post("/fr/account/login/email/", {"email": "x" * 500}).status_code == 400
    assert client.post("/fr/account/login/app/", {}).status_code == 400
    assert client.post("/fr/account/login/passkey/", b"not json",
                       content_type="application/json").status_code == 400
    assert client.get("/fr/account/login/email/code/").status_code == 302
    assert client.post("/fr/account/keys/1/revoke/").status_code == 302  # to the login page


def test_a_citizen_account_never_logs_in_with_a_password(client, citizen):
    citizen.set_password("Some-password-123")
    citizen.save()
    response = client.post("/admin/login/", {"username": citizen.username,
                                             "password": "Some-password-123"})
    assert response.status_code == 200  # the form again, with an error
    assert "_auth_user_id" not in client.session


def test_the_enrolment_window_closes_after_thirty_minutes(enrolled, citizen):
    session = enrolled.session
    session["identity.enrol"]["until"] = (timezone.now()
                                          - datetime.timedelta(seconds=1)).isoformat()
    session.save()
    assert enrolled.get("/fr/account/keys/new/app/").status_code == 403


def test_only_one_e_mail_key_per_account(enrolled, citizen, django_capture_on_commit_callbacks):
    create_email_key(enrolled, django_capture_on_commit_callbacks)
    create_email_key(enrolled, django_capture_on_commit_callbacks)
    assert DigitalKey.objects.filter(user=citizen, kind=KeyKind.EMAIL_OTP).count() == 1


def test_old_email_codes_are_purged(citizen, django_capture_on_commit_callbacks):
    from identity.tasks import purge_email_challenges

    with django_capture_on_commit_callbacks(execute=True):
        old = services.email_challenge_send(user=citizen, purpose="login")
        fresh = services.email_challenge_send(user=citizen, purpose="enrol")
    EmailChallenge.objects.filter(pk=old.pk).update(
        expires_at=timezone.now() - datetime.timedelta(days=2))
    assert purge_email_challenges() == 1
    assert list(EmailChallenge.objects.values_list("pk", flat=True)) == [fresh.pk]
