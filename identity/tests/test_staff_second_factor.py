"""Staff second factor: enrolment of a new staff member (authenticator app and backup codes),
the lockouts, a staff member's own devices, and the access manager's reset."""

import datetime
import re

import pyotp
import pytest
from django.test import Client
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from identity import services
from identity.constants import AuditAction
from identity.models import IdentityAuditEvent
from identity.tests.conftest import make_person, make_staff, verified_client

PASSWORD = "Staff-password-123"


@pytest.fixture
def no_throttle(settings):
    """django-otp slows retries down after a wrong code; tests of other rules turn it off."""
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0


def password_login(client, user):
    response = client.post("/admin/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    return client


def enrol_page(client):
    """Follow the back office's redirects to the enrolment page."""
    verify = client.get("/admin/")
    assert verify.status_code == 302 and "/account/staff/verify/" in verify["Location"]
    enrol = client.get(verify["Location"])
    assert enrol.status_code == 302 and "/account/staff/enrol/" in enrol["Location"]
    page = client.get(enrol["Location"])
    assert page.status_code == 200
    return enrol["Location"], page


def secret_of(page) -> str:
    return re.search(r'data-secret="([A-Z2-7]+)"', page.content.decode()).group(1)


def device_token(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def wrong(code: str) -> str:
    return "000000" if code != "000000" else "111111"


def actions() -> list[str]:
    return list(IdentityAuditEvent.objects.values_list("action", flat=True))


def test_a_new_staff_member_enrols_and_the_admin_stays_closed_until_a_code_confirms(
        client, officer, no_throttle):
    password_login(client, officer)
    url, page = enrol_page(client)
    html = page.content.decode()
    assert "<svg" in html and 'role="img"' in html and "aria-label=" in html  # the QR code
    secret = secret_of(page)
    assert secret == re.sub(r"\s", "", page.context["secret_grouped"])
    device = TOTPDevice.objects.get(user=officer)
    assert not device.confirmed
    assert f"secret={secret}" in device.config_url
    # the same secret on a reload: a code scanned before it stays valid
    assert secret_of(client.get(url)) == secret
    assert TOTPDevice.objects.filter(user=officer).count() == 1
    # an unconfirmed authenticator opens nothing, not even with its own code
    assert client.get("/admin/lra/").status_code == 302
    verify_url = url.replace("/enrol/", "/verify/")
    assert client.post(verify_url, {"token": pyotp.TOTP(secret).now()}).status_code == 302
    assert client.get("/admin/").status_code == 302

    bad = client.post(url, {"code": wrong(pyotp.TOTP(secret).now())})
    assert bad.status_code == 400 and 'role="alert"' in bad.content.decode()
    assert 'aria-describedby="id_code_error"' in bad.content.decode()
    assert client.get("/admin/").status_code == 302
    failed = IdentityAuditEvent.objects.get(action=AuditAction.STAFF_VERIFY_FAILED)
    assert failed.details["step"] == "enrolment" and failed.subject_user == officer

    done = client.post(url, {"code": pyotp.TOTP(secret).now()})
    assert done.status_code == 200
    codes = done.context["backup_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(code in done.content.decode() for code in codes)
    device.refresh_from_db()
    assert device.confirmed
    # kept as keyed digests only: a copy of the database does not give the codes away
    stored = sorted(StaticToken.objects.filter(device__user=officer)
                    .values_list("token", flat=True))
    assert stored == sorted(services.backup_code_digests(code)[0] for code in codes)
    assert not set(stored) & set(codes)
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/lra/").status_code == 200
    assert AuditAction.STAFF_ENROLLED in actions()
    # once set up, the enrolment page does not show the secret again
    assert client.get(url).status_code == 302


def test_a_backup_code_from_the_enrolment_logs_in_once(client, officer, no_throttle):
    password_login(client, officer)
    url, page = enrol_page(client)
    codes = client.post(url, {"code": pyotp.TOTP(secret_of(page)).now()}).context["backup_codes"]
    client.post("/admin/logout/")
    password_login(client, officer)
    verify_url = client.get("/admin/")["Location"]
    assert "/verify/" in verify_url  # has a device now: verify, not enrol
    assert client.post(verify_url, {"token": codes[3].upper()}).status_code == 302
    assert client.get("/admin/").status_code == 200
    client.post("/admin/logout/")
    password_login(client, officer)
    assert client.post(verify_url, {"token": codes[3]}).status_code == 400
    assert client.get("/admin/").status_code == 302


def test_enrolment_codes_are_rate_limited_and_the_right_code_then_waits(client, officer,
                                                                        settings, no_throttle):
    settings.IDENTITY_RATE_PER_ACCOUNT = "3/15m"
    password_login(client, officer)
    url, page = enrol_page(client)
    secret = secret_of(page)
    for _ in range(3):
        assert client.post(url, {"code": wrong(pyotp.TOTP(secret).now())}).status_code == 400
    locked = client.post(url, {"code": pyotp.TOTP(secret).now()})
    assert locked.status_code == 429
    assert not TOTPDevice.objects.get(user=officer).confirmed
    assert client.get("/admin/").status_code == 302
    assert AuditAction.RATE_LIMITED in actions()


def test_django_otp_throttle_refuses_even_the_right_code_just_after_a_wrong_one(client,
                                                                                 officer):
    password_login(client, officer)
    url, page = enrol_page(client)
    secret = secret_of(page)
    client.post(url, {"code": wrong(pyotp.TOTP(secret).now())})
    throttled = client.post(url, {"code": pyotp.TOTP(secret).now()})
    assert throttled.status_code == 400
    assert "Wait a few seconds" in throttled.content.decode() or "Attendez" in \
        throttled.content.decode()
    device = TOTPDevice.objects.get(user=officer)
    assert not device.confirmed
    event = IdentityAuditEvent.objects.filter(action=AuditAction.STAFF_VERIFY_FAILED).first()
    assert event.details["throttled"] is True
    # once the delay has passed, the right code works
    TOTPDevice.objects.filter(pk=device.pk).update(
        throttling_failure_timestamp=timezone.now() - datetime.timedelta(minutes=1))
    assert client.post(url, {"code": pyotp.TOTP(secret).now()}).status_code == 200


def test_the_enrolment_page_is_for_logged_in_staff_only(client, officer, db):
    assert client.get("/fr/account/staff/enrol/").status_code == 302
    assert not TOTPDevice.objects.exists()
    citizen = services.citizen_account_for_person(person=make_person(), email="c@example.org")
    client.force_login(citizen)
    response = client.get("/fr/account/staff/enrol/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert not TOTPDevice.objects.exists()
    # a foreign `next` is dropped
    staff = Client()
    password_login(staff, officer)
    page = staff.get("/fr/account/staff/enrol/?next=https://evil.example/")
    assert page.context["next"] == "/admin/"


@pytest.mark.parametrize(("language", "title"), [
    ("fr", "Configurez votre second facteur"), ("nl", "Stel uw tweede factor in"),
    ("en", "Set up your second factor"), ("de", "Richten Sie Ihren zweiten Faktor ein")])
def test_the_enrolment_page_is_translated_and_labelled(client, officer, language, title):
    password_login(client, officer)
    page = client.get(f"/{language}/account/staff/enrol/")
    html = page.content.decode()
    assert title in html
    assert f'lang="{language}"' in html
    assert re.search(r'<label for="id_code">', html)
    assert 'autocomplete="one-time-code"' in html and 'inputmode="numeric"' in html


def staff_with_factor(client, user):
    """A verified session of `user` with an authenticator and two backup codes."""
    verified_client(client, user)
    static = StaticDevice.objects.create(user=user, name="backup", confirmed=True)
    static.token_set.create(token=services.backup_code_digests("first234")[0])
    static.token_set.create(token=services.backup_code_digests("second23")[0])
    return TOTPDevice.objects.get(user=user)


def test_a_staff_member_sees_their_second_factor_and_gets_new_backup_codes(client, officer,
                                                                           no_throttle):
    device = staff_with_factor(client, officer)
    page = client.get("/admin/second-factor/")
    assert page.status_code == 200
    assert page.context["backup_codes_left"] == 2
    assert list(page.context["authenticators"]) == [device]
    refused = client.post("/admin/second-factor/", {"action": "backup_codes", "token": "nope"})
    assert refused.status_code == 400
    html = refused.content.decode()  # the field names its help and its error for screen readers
    assert 'aria-describedby="sf_token_helptext sf_token_error"' in html
    assert 'id="sf_token_helptext"' in html and 'id="sf_token_error"' in html
    assert 'aria-invalid="true"' in html and 'role="alert"' in html
    assert StaticToken.objects.filter(device__user=officer).count() == 2
    renewed = client.post("/admin/second-factor/", {"action": "backup_codes",
                                                    "token": device_token(device)})
    assert renewed.status_code == 200
    codes = renewed.context["backup_codes"]
    assert len(codes) == 10 and all(code in renewed.content.decode() for code in codes)
    old = [services.backup_code_digests(code)[0] for code in ("first234", "second23")]
    assert not StaticToken.objects.filter(token__in=old).exists()
    assert client.get("/admin/second-factor/").context["backup_codes_left"] == 10
    assert AuditAction.STAFF_BACKUP_CODES in actions()
    assert client.post("/admin/second-factor/", {"action": "other", "token": codes[0]}
                       ).status_code == 400


def test_the_account_page_links_to_the_second_factor_page(client, officer):
    staff_with_factor(client, officer)
    assert "/admin/second-factor/" in client.get("/admin/account/").content.decode()


def test_a_staff_member_resets_their_own_second_factor_and_must_enrol_again(
        client, officer, no_throttle):
    staff_with_factor(client, officer)
    response = client.post("/admin/second-factor/", {"action": "reset", "token": "first234"})
    assert response.status_code == 302 and "/account/staff/enrol/" in response["Location"]
    assert not TOTPDevice.objects.filter(user=officer).exists()
    assert not StaticDevice.objects.filter(user=officer).exists()
    assert client.get("/admin/").status_code == 302  # the session is no longer verified
    event = IdentityAuditEvent.objects.get(action=AuditAction.STAFF_RESET)
    assert event.actor == officer and event.details["reason"] == "own"
    assert client.get(response["Location"]).status_code == 200  # a new QR code


def test_the_access_manager_resets_a_staff_members_second_factor(client, manager, officer,
                                                                 no_throttle):
    officer_client = Client()
    staff_with_factor(officer_client, officer)
    assert officer_client.get("/admin/").status_code == 200
    verified_client(client, manager)
    roles = client.get("/admin/access/roles/")
    assert f"/admin/access/second-factor/{officer.pk}/reset/" in roles.content.decode()
    response = client.post(f"/admin/access/second-factor/{officer.pk}/reset/")
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=officer).exists()
    assert not StaticDevice.objects.filter(user=officer).exists()
    # the officer's open session is closed to the back office at once
    assert officer_client.get("/admin/").status_code == 302
    event = IdentityAuditEvent.objects.get(action=AuditAction.STAFF_RESET)
    assert (event.actor, event.subject_user) == (manager, officer)
    assert event.details["reason"] == "access_manager" and len(event.details["devices"]) == 2
    roles = client.get("/admin/access/roles/")
    assert {u: enrolled for u, _o, enrolled in roles.context["staff"]}[officer] is False


def test_only_the_access_manager_resets_and_never_an_administrator_or_themselves(
        client, manager, officer, other_staff):
    staff_with_factor(Client(), other_staff)
    verified_client(client, officer)
    assert client.post(f"/admin/access/second-factor/{other_staff.pk}/reset/").status_code == 403
    assert TOTPDevice.objects.filter(user=other_staff).exists()

    root = make_staff("root", superuser=True)
    TOTPDevice.objects.create(user=root, name="phone", confirmed=True)
    manager_client = verified_client(Client(), manager)
    manager_client.post(f"/admin/access/second-factor/{root.pk}/reset/")
    assert TOTPDevice.objects.filter(user=root).exists()
    manager_client.post(f"/admin/access/second-factor/{manager.pk}/reset/")
    assert TOTPDevice.objects.filter(user=manager).exists()
    assert manager_client.post("/admin/access/second-factor/999999/reset/").status_code == 302
    assert not IdentityAuditEvent.objects.filter(action=AuditAction.STAFF_RESET).exists()
    # a superuser may reset another administrator's second factor
    other_root = make_staff("root2", superuser=True)
    services.staff_second_factor_reset(manager=other_root, user=root)
    assert not TOTPDevice.objects.filter(user=root).exists()


def test_staff_password_logins_are_audited(client, officer, db):
    client.post("/admin/login/", {"username": officer.username, "password": "wrong"})
    client.post("/admin/login/", {"username": "nobody", "password": "wrong"})
    password_login(client, officer)
    failures = IdentityAuditEvent.objects.filter(action=AuditAction.LOGIN_FAILURE).order_by("id")
    assert [(e.subject_user, e.details["method"]) for e in failures] == [
        (officer, "password"), (None, "password")]
    success = IdentityAuditEvent.objects.get(action=AuditAction.LOGIN_SUCCESS)
    assert success.subject_user == officer and success.details["second_factor"] == "pending"


def test_a_citizen_password_login_is_refused_and_audited(client, db):
    citizen = services.citizen_account_for_person(person=make_person(), email="c@example.org")
    citizen.set_password(PASSWORD)
    citizen.save()
    client.post("/admin/login/", {"username": citizen.username, "password": PASSWORD})
    assert "_auth_user_id" not in client.session
    event = IdentityAuditEvent.objects.get(action=AuditAction.LOGIN_FAILURE)
    assert event.subject_user == citizen and event.details["reason"] == "citizen_account"


def test_backup_codes_keep_working_when_the_secret_key_is_rotated(client, officer, settings,
                                                                   no_throttle):
    password_login(client, officer)
    url, page = enrol_page(client)
    codes = client.post(url, {"code": pyotp.TOTP(secret_of(page)).now()}).context["backup_codes"]
    client.post("/admin/logout/")
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-" + "x" * 40
    password_login(client, officer)
    verify_url = client.get("/admin/")["Location"]
    assert client.post(verify_url, {"token": "wrong123"}).status_code == 400
    assert client.post(verify_url, {"token": codes[0]}).status_code == 302
    assert client.get("/admin/").status_code == 200
    client.post("/admin/logout/")
    settings.SECRET_KEY_FALLBACKS = []  # the old key dropped: its codes with it
    password_login(client, officer)
    assert client.post(verify_url, {"token": codes[1]}).status_code == 400
