"""Every action on an identity leaves an audit event (who, when, whom), and the e-mails of
identity leave only once the transaction has committed, in the citizen's language."""

from __future__ import annotations

import datetime
import re

import pyotp
import pytest
from django.core import mail
from django.db import transaction
from django.test import Client
from django.utils import timezone, translation
from django_otp.plugins.otp_totp.models import TOTPDevice

from identity import services
from identity.constants import GROUP_LRA_OFFICER, AuditAction
from identity.models import Activation, IdentityAuditEvent
from identity.registers import BisRegistration
from identity.tests.conftest import make_person, make_staff, verified_client


def checked_document(number: str = "EA1234567") -> services.CheckedDocument:
    return services.CheckedDocument(
        document_type="passport", document_number=number, issuing_country="PL",
        expires_on=timezone.localdate() + datetime.timedelta(days=400), checked_with="prado")


def test_every_action_on_an_identity_writes_its_audit_event(
        client, officer, manager, other_staff, django_capture_on_commit_callbacks, settings):
    """Walks the life of an identity and checks the trail: action, who acted, on whom."""
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    person = services.bis_register(
        officer=officer, ip="192.0.2.1",
        registration=BisRegistration(first_names="Anna", last_name="Nowak",
                                     birth_date=datetime.date(1990, 5, 6), birth_place="Kraków",
                                     gender="F", nationality="PL"),
        document=checked_document())
    with django_capture_on_commit_callbacks(execute=True):
        first = services.activation_issue(officer=officer, person=person,
                                          email="anna@example.org", language="en")
    services.activation_revoke(activation=first.activation, officer=officer)
    with django_capture_on_commit_callbacks(execute=True):
        issued = services.activation_issue(officer=officer, person=person,
                                           email="anna@example.org", language="en")
    citizen = services.activation_redeem(link_token=issued.link_token, code=issued.code)
    secret = pyotp.random_base32()
    key = services.key_create_totp(user=citizen, secret=secret,
                                   code=pyotp.TOTP(secret).now())
    services.key_rename(key=key, user=citizen, name="Phone")
    login = client.post("/en/account/login/app/", {"email": "anna@example.org",
                                                   "code": "000000"})
    assert login.status_code == 400
    key.totp_last_counter = -1
    key.save()
    assert client.post("/en/account/login/app/", {
        "email": "anna@example.org", "code": pyotp.TOTP(secret).now()}).status_code == 302
    services.key_revoke(key=key, user=citizen)
    services.role_set(manager=manager, user=other_staff, group_name=GROUP_LRA_OFFICER,
                      granted=True)
    services.role_set(manager=manager, user=other_staff, group_name=GROUP_LRA_OFFICER,
                      granted=False)
    TOTPDevice.objects.create(user=other_staff, name="phone", confirmed=True)
    services.staff_second_factor_reset(manager=manager, user=other_staff)

    trail = [(e.action, e.actor, e.person, e.subject_user)
             for e in IdentityAuditEvent.objects.order_by("id")]
    assert trail == [
        (AuditAction.BIS_REGISTER, officer, person, None),
        (AuditAction.ACTIVATION_ISSUED, officer, person, None),
        (AuditAction.ACTIVATION_REVOKED, officer, person, None),
        (AuditAction.ACTIVATION_ISSUED, officer, person, None),
        (AuditAction.ACCOUNT_CREATED, None, person, citizen),
        (AuditAction.ACTIVATION_USED, None, person, citizen),
        (AuditAction.KEY_CREATED, citizen, person, citizen),
        (AuditAction.KEY_RENAMED, citizen, person, citizen),
        (AuditAction.LOGIN_FAILURE, None, None, citizen),
        (AuditAction.LOGIN_SUCCESS, citizen, person, citizen),
        (AuditAction.KEY_REVOKED, citizen, person, citizen),
        (AuditAction.ROLE_GRANTED, manager, None, other_staff),
        (AuditAction.ROLE_WITHDRAWN, manager, None, other_staff),
        (AuditAction.STAFF_RESET, manager, None, other_staff),
    ]
    events = IdentityAuditEvent.objects.order_by("id")
    assert events[0].ip == "192.0.2.1" and events[0].details["number"] == person.number
    assert all(e.at <= timezone.now() for e in events)
    # the access manager reads the same trail, newest first
    page = verified_client(Client(), manager).get("/admin/access/audit/")
    assert page.status_code == 200 and person.number in page.content.decode()


def test_a_refused_action_leaves_no_success_event(officer, other_staff, person):
    from core.errors import NotAllowed

    with pytest.raises(NotAllowed):
        services.role_set(manager=officer, user=other_staff, group_name=GROUP_LRA_OFFICER,
                          granted=True)
    with pytest.raises(NotAllowed):
        services.staff_second_factor_reset(manager=officer, user=other_staff)
    with pytest.raises(NotAllowed):
        services.activation_issue(officer=other_staff, person=person, email="a@example.org",
                                  language="fr")
    assert not IdentityAuditEvent.objects.exists()


# --- e-mails -----------------------------------------------------------------------------

def test_the_activation_email_waits_for_the_commit_and_speaks_the_citizens_language(
        officer, person, django_capture_on_commit_callbacks):
    with translation.override("fr"), django_capture_on_commit_callbacks() as callbacks:
        issued = services.activation_issue(officer=officer, person=person,
                                           email="lotte@example.org", language="nl")
        assert mail.outbox == []  # not before the commit
    assert len(callbacks) == 1 and mail.outbox == []
    with translation.override("fr"):
        callbacks[0]()
    message = mail.outbox[0]
    assert message.to == ["lotte@example.org"]
    assert "Activeer" in message.subject
    assert f"/nl/account/activate/{issued.link_token}/" in message.body


def test_no_activation_email_when_the_transaction_rolls_back(officer, person,
                                                             django_capture_on_commit_callbacks):
    with (django_capture_on_commit_callbacks(execute=True) as callbacks,
          pytest.raises(RuntimeError), transaction.atomic()):
        services.activation_issue(officer=officer, person=person,
                                  email="lotte@example.org", language="nl")
        raise RuntimeError("a later step failed")
    assert callbacks == [] and mail.outbox == []
    assert not Activation.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_emails_leave_after_the_real_commit_only():
    """With real transactions (no test wrapper): the link is e-mailed when the outer
    transaction commits, and never when it rolls back."""
    officer = make_staff("officer-tx", GROUP_LRA_OFFICER)
    person = make_person(last_name="Commit")
    with transaction.atomic():
        services.activation_issue(officer=officer, person=person, email="c@example.org",
                                  language="de")
        assert mail.outbox == []
    assert len(mail.outbox) == 1 and "Aktivieren" in mail.outbox[0].subject
    with pytest.raises(RuntimeError), transaction.atomic():
        services.activation_issue(officer=officer, person=person, email="c@example.org",
                                  language="de")
        raise RuntimeError("rolled back")
    assert len(mail.outbox) == 1
    assert Activation.objects.count() == 1
    citizen = services.citizen_account_for_person(person=person, email="c@example.org",
                                                  language="de")
    with transaction.atomic():
        services.email_challenge_send(user=citizen, purpose="login")
        assert len(mail.outbox) == 1
    assert len(mail.outbox) == 2
    assert mail.outbox[-1].subject.startswith("Ihr Sicherheitscode")


@pytest.mark.parametrize(("language", "subject"), [
    ("fr", "Votre code de sécurité"), ("nl", "Uw beveiligingscode"),
    ("en", "Your security code"), ("de", "Ihr Sicherheitscode")])
def test_one_time_codes_are_emailed_in_the_citizens_language_after_the_commit(
        db, language, subject, django_capture_on_commit_callbacks):
    citizen = services.citizen_account_for_person(person=make_person(), email="x@example.org",
                                                  language=language)
    other = "de" if language != "de" else "fr"
    with translation.override(other), django_capture_on_commit_callbacks() as callbacks:
        services.email_challenge_send(user=citizen, purpose="login")
    assert mail.outbox == []
    with translation.override(other):
        for callback in callbacks:
            callback()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.subject.startswith(subject) and message.to == ["x@example.org"]
    code = re.search(r"\b(\d{6})\b", message.subject).group(1)
    assert code in message.body


