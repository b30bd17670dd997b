"""The back office: staff need a second factor; the LRA screens are for the officer role;
the access manager grants that role."""

import datetime
import re

import pytest
from django.core import mail
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from identity import services
from identity.constants import GROUP_LRA_OFFICER, AuditAction
from identity.models import Activation, IdentityAuditEvent, Person
from identity.tests.conftest import make_person, make_staff, verified_client

PASSWORD = "Staff-password-123"


def password_login(client, user):
    response = client.post("/admin/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    return client


def current_token(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def test_staff_without_second_factor_are_sent_to_verify_and_get_in_with_totp(client, officer,
                                                                             settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # django-otp slows retries down; not the point here
    device = TOTPDevice.objects.create(user=officer, name="phone", confirmed=True)
    password_login(client, officer)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert "/account/staff/verify/" in response["Location"]
    assert client.get("/admin/lra/").status_code == 302  # every admin page, not only home
    verify_url = response["Location"]
    wrong = client.post(verify_url, {"token": "000000" if current_token(device) != "000000"
                                     else "111111", "next": "/admin/"})
    assert wrong.status_code == 400
    ok = client.post(verify_url, {"token": current_token(device)})
    assert ok.status_code == 302 and ok["Location"] == "/admin/"
    assert client.get("/admin/lra/").status_code == 200
    actions = list(IdentityAuditEvent.objects.values_list("action", flat=True))
    assert AuditAction.STAFF_VERIFY_FAILED in actions and AuditAction.STAFF_VERIFIED in actions


def test_a_backup_code_works_once(client, officer):
    static = StaticDevice.objects.create(user=officer, name="backup", confirmed=True)
    static.token_set.create(token=services.backup_code_digests("abcd2345")[0])
    password_login(client, officer)
    url = client.get("/admin/")["Location"]
    assert client.post(url, {"token": "abcd2345"}).status_code == 302
    assert client.get("/admin/").status_code == 200
    client.post("/admin/logout/")
    password_login(client, officer)
    assert client.post(url, {"token": "abcd2345"}).status_code == 400


def test_staff_without_any_device_are_sent_to_set_one_up(client, officer):
    password_login(client, officer)
    url = client.get("/admin/")["Location"]
    page = client.get(url)
    assert page.status_code == 302 and "/account/staff/enrol/" in page["Location"]
    assert client.get("/admin/").status_code == 302


def test_second_factor_is_rate_limited(client, officer, settings):
    settings.IDENTITY_RATE_PER_ACCOUNT = "3/15m"
    TOTPDevice.objects.create(user=officer, name="phone", confirmed=True)
    password_login(client, officer)
    url = client.get("/admin/")["Location"]
    for _ in range(3):
        client.post(url, {"token": "12"})
    assert client.post(url, {"token": "12"}).status_code == 429


def test_a_citizen_cannot_open_the_officer_screens(client, db):
    citizen = services.citizen_account_for_person(person=make_person(), email="c@example.org")
    client.force_login(citizen)
    response = client.get("/admin/lra/")
    assert response.status_code == 403
    assert "Officier d'enregistrement local" in response.content.decode()  # French by default
    assert client.post("/admin/lra/register/", BIS_FORM).status_code == 403
    assert client.get("/admin/access/roles/").status_code == 403
    assert not Person.objects.filter(last_name="Nowak").exists()


def test_other_staff_get_403_and_do_not_see_the_menu(client, other_staff):
    verified_client(client, other_staff)
    assert client.get("/admin/lra/").status_code == 403
    assert client.post("/admin/lra/register/", {}).status_code == 403
    assert client.get("/admin/access/roles/").status_code == 403
    home = client.get("/admin/")
    assert home.status_code == 200
    assert "/admin/lra/" not in home.content.decode()


def test_officer_sees_the_menu_and_searches_by_number_and_by_name(officer_client, person):
    home = officer_client.get("/admin/")
    assert "/admin/lra/" in home.content.decode()
    by_number = officer_client.post("/admin/lra/", {"number": person.number})
    assert by_number.status_code == 200 and person.full_name in by_number.content.decode()
    by_name = officer_client.post("/admin/lra/", {"last_name": "peeters",
                                                 "birth_date": person.birth_date.isoformat()})
    assert person.full_name in by_name.content.decode()
    bad = officer_client.post("/admin/lra/", {"number": "12345678901"})
    assert bad.status_code == 400
    nothing = officer_client.post("/admin/lra/", {"last_name": "Nobody",
                                                  "birth_date": "1990-01-01"})
    assert "/admin/lra/register/" in nothing.content.decode()
    assert "Nobody found" in nothing.content.decode() or "Personne n" in nothing.content.decode()
    assert IdentityAuditEvent.objects.filter(action=AuditAction.REGISTER_SEARCH).count() == 3


BIS_FORM = {"first_names": "Anna", "last_name": "Nowak", "birth_date": "1990-05-06",
            "birth_place": "Kraków", "gender": "F", "nationality": "pl",
            "document_type": "passport", "document_number": "EA 1234567",
            "issuing_country": "pl", "checked_with": "prado"}


def valid_bis_form(**changes):
    expiry = (timezone.localdate() + datetime.timedelta(days=400)).isoformat()
    return {**BIS_FORM, "expires_on": expiry, **changes}


def test_officer_registers_in_bis_and_duplicates_are_refused(officer_client):
    response = officer_client.post("/admin/lra/register/", valid_bis_form())
    assert response.status_code == 302
    person = Person.objects.get(last_name="Nowak")
    assert person.number_kind == "bis" and person.nationality == "PL"
    document = person.documents.get()
    assert (document.document_number, document.checked_with) == ("EA1234567", "prado")
    # same document again (another spelling of the number)
    again = officer_client.post("/admin/lra/register/",
                                valid_bis_form(first_names="Other", document_number="ea1234567"))
    assert again.status_code == 400 and person.number in again.content.decode()
    # same name and birth date with another document
    twin = officer_client.post("/admin/lra/register/",
                               valid_bis_form(document_number="X999", last_name="NOWAK"))
    assert twin.status_code == 400
    assert Person.objects.filter(number_kind="bis").count() == 1
    assert IdentityAuditEvent.objects.filter(action=AuditAction.BIS_REFUSED).count() == 2
    assert IdentityAuditEvent.objects.filter(action=AuditAction.BIS_REGISTER).count() == 1


def test_bis_registration_refuses_an_expired_document_with_a_field_error(officer_client):
    response = officer_client.post("/admin/lra/register/",
                                   valid_bis_form(expires_on="2020-01-01"))
    assert response.status_code == 400
    assert not Person.objects.exists()


def test_issue_shows_the_start_card_in_the_citizens_language_then_revoke(
        officer_client, person, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = officer_client.post(f"/admin/lra/person/{person.pk}/",
                                       {"email": "anna@example.org", "language": "nl"})
    assert response.status_code == 302
    card = officer_client.get(response["Location"])
    html = card.content.decode()
    assert card.status_code == 200 and 'lang="nl"' in html
    assert "Uw activatiecode" in html and "@page" in html and "size: A4" in html
    code = re.search(r'id="activation-code">([A-Z0-9-]+)<', html).group(1)
    assert len(code.replace("-", "")) == 12
    link = re.search(r"/nl/account/activate/(\S+)/", mail.outbox[-1].body).group(1)
    activation = Activation.objects.get()
    revoke = officer_client.post(f"/admin/lra/activation/{activation.pk}/revoke/")
    assert revoke.status_code == 302
    assert officer_client.get(response["Location"]).content.decode().count(code) == 0
    from core.errors import ValidationFailed

    with pytest.raises(ValidationFailed):
        services.activation_redeem(link_token=link, code=code)


def test_issue_with_a_bad_address_shows_the_error(officer_client, person):
    response = officer_client.post(f"/admin/lra/person/{person.pk}/",
                                   {"email": "nope", "language": "fr"})
    assert response.status_code == 400
    assert not Activation.objects.exists()
    assert officer_client.get("/admin/lra/person/999999/").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_a_mail_server_failure_withdraws_the_activation_and_tells_the_officer(
        officer_client, person, monkeypatch):
    """A refused e-mail after the commit is no 500: the activation, whose link is lost, is
    withdrawn and the officer is told so in their language."""
    import smtplib

    from identity import emails

    def refuse(**kwargs):
        raise smtplib.SMTPServerDisconnected("connection unexpectedly closed")

    monkeypatch.setattr(emails, "send_activation_link", refuse)
    response = officer_client.post(f"/admin/lra/person/{person.pk}/",
                                   {"email": "anna@example.org", "language": "fr"}, follow=True)
    assert response.status_code == 200
    assert "pu être envoyé" in response.content.decode()
    activation = Activation.objects.get()
    assert activation.revoked_at is not None and mail.outbox == []


def test_access_manager_grants_and_withdraws_the_officer_role(client, manager, other_staff):
    verified_client(client, manager)
    page = client.get("/admin/access/roles/")
    assert page.status_code == 200 and other_staff.username in page.content.decode()
    client.post("/admin/access/roles/", {"user": other_staff.pk, "grant": "1"})
    assert other_staff.groups.filter(name=GROUP_LRA_OFFICER).exists()
    client.post("/admin/access/roles/", {"user": other_staff.pk, "grant": "0"})
    assert not other_staff.groups.filter(name=GROUP_LRA_OFFICER).exists()
    actions = list(IdentityAuditEvent.objects.values_list("action", flat=True))
    assert AuditAction.ROLE_GRANTED in actions and AuditAction.ROLE_WITHDRAWN in actions


def test_an_officer_cannot_grant_roles(client, officer, other_staff):
    verified_client(client, officer)
    assert client.post("/admin/access/roles/", {"user": other_staff.pk, "grant": "1"}).status_code == 403
    assert not other_staff.groups.filter(name=GROUP_LRA_OFFICER).exists()


def test_superuser_is_also_held_to_the_second_factor(client, db):
    admin = make_staff("root", superuser=True)
    password_login(client, admin)
    assert client.get("/admin/").status_code == 302


def test_access_manager_reads_the_audit_trail_page_by_page_and_filters_it(client, manager,
                                                                          officer, person):
    for _ in range(60):
        services.lra_register_search(officer=officer, number=person.number)
    services.lra_person_viewed(officer=officer, person=person)
    verified_client(client, manager)
    first = client.get("/admin/access/audit/")
    assert first.status_code == 200
    html = first.content.decode()
    assert "?action=&amp;page=2" in html and person.number in html
    viewed = client.get("/admin/access/audit/", {"action": AuditAction.REGISTER_VIEW})
    assert viewed.content.decode().count(person.number) == 1
    assert client.get("/admin/access/audit/", {"page": "999", "action": "bogus"}).status_code == 200


def test_an_officer_cannot_read_the_whole_audit_trail(client, officer):
    verified_client(client, officer)
    assert client.get("/admin/access/audit/").status_code == 403
