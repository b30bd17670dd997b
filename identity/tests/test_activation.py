"""The activation rules: hashes only, entropy, single use, expiry, lockout, revocation, and
link and code worthless one without the other."""

import datetime
import re

import pytest
from django.core import mail
from django.utils import timezone

from core.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from identity import codes, services
from identity.constants import AuditAction
from identity.models import Activation, IdentityAuditEvent, User
from identity.tests.conftest import make_person


@pytest.fixture
def issue(officer, person, django_capture_on_commit_callbacks):
    def _issue(target=None, email="citizen@example.org", language="nl"):
        with django_capture_on_commit_callbacks(execute=True):
            return services.activation_issue(officer=officer, person=target or person,
                                             email=email, language=language, ip="10.0.0.1")
    return _issue


def test_activation_codes_have_at_least_50_bits_of_entropy():
    assert codes.entropy_bits() >= 50
    code = codes.new_activation_code()
    assert len(code) == codes.ACTIVATION_CODE_LENGTH
    assert set(code) <= set(codes.CODE_ALPHABET)
    assert not set("01ILO") & set(codes.CODE_ALPHABET)  # no look-alikes
    # ten symbols of this alphabet would not be enough
    assert codes.entropy_bits(length=10) < 50


def test_issue_stores_only_digests_and_emails_the_link_in_the_citizens_language(issue, person):
    issued = issue(language="nl")
    row = Activation.objects.get()
    assert issued.code not in (row.code_digest, row.link_digest)
    assert issued.link_token not in (row.code_digest, row.link_digest)
    assert row.code_digest == codes.digest(issued.code, purpose="activation-code")
    assert (row.expires_at - row.created_at) == datetime.timedelta(days=14)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["citizen@example.org"]
    assert "/nl/account/activate/" + issued.link_token in message.body
    assert "Activeer" in message.subject or "sleutel" in message.subject
    assert issued.code not in message.body  # the code only travels on paper
    event = IdentityAuditEvent.objects.get(action=AuditAction.ACTIVATION_ISSUED)
    assert event.person == person and event.actor.username == "officer"
    assert event.ip == "10.0.0.1"


def test_expiry_is_a_setting(issue, settings):
    settings.IDENTITY_ACTIVATION_DAYS = 3
    issue()
    row = Activation.objects.get()
    assert row.expires_at - row.created_at == datetime.timedelta(days=3)


def test_redeeming_with_link_and_code_creates_the_citizen_account_once(issue, person):
    issued = issue()
    typed = codes.format_activation_code(issued.code).lower()  # dashes and case do not matter
    user = services.activation_redeem(link_token=issued.link_token, code=typed, ip="1.2.3.4")
    assert user.person == person and user.email == "citizen@example.org"
    assert user.preferred_language == "nl"
    assert not user.has_usable_password()
    assert Activation.objects.get().used_at is not None
    # reuse: refused, nothing changes
    with pytest.raises(ValidationFailed) as exc:
        services.activation_redeem(link_token=issued.link_token, code=issued.code)
    assert exc.value.code == "activation_used"
    assert User.objects.filter(person=person).count() == 1
    assert IdentityAuditEvent.objects.filter(action=AuditAction.ACTIVATION_USED).count() == 1


def test_five_wrong_codes_lock_the_activation_even_for_the_right_code_after(issue, settings):
    settings.IDENTITY_ACTIVATION_MAX_TRIES = 5
    issued = issue()
    for attempt in range(1, 5):
        with pytest.raises(ValidationFailed) as exc:
            services.activation_redeem(link_token=issued.link_token, code="WRONG-CODE-2345")
        assert exc.value.code == "activation_code_wrong"
        assert f"{5 - attempt}" in str(exc.value.message)
        assert Activation.objects.get().failed_attempts == attempt
    with pytest.raises(ValidationFailed) as exc:
        services.activation_redeem(link_token=issued.link_token, code="WRONG-CODE-2345")
    assert exc.value.code == "activation_locked"
    with pytest.raises(ValidationFailed) as exc:
        services.activation_redeem(link_token=issued.link_token, code=issued.code)
    assert exc.value.code == "activation_locked"
    assert not User.objects.filter(person__isnull=False).exists()
    assert IdentityAuditEvent.objects.filter(action=AuditAction.ACTIVATION_LOCKED).count() == 1
    assert IdentityAuditEvent.objects.filter(action=AuditAction.ACTIVATION_FAILED).count() == 5


def test_expired_activation_is_refused_and_unchanged(issue):
    issued = issue()
    Activation.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    with pytest.raises(ValidationFailed) as exc:
        services.activation_redeem(link_token=issued.link_token, code=issued.code)
    assert exc.value.code == "activation_expired"
    row = Activation.objects.get()
    assert row.used_at is None and row.failed_attempts == 0


def test_revoked_activation_is_refused(issue, officer):
    issued = issue()
    services.activation_revoke(activation=issued.activation, officer=officer)
    with pytest.raises(ValidationFailed) as exc:
        services.activation_redeem(link_token=issued.link_token, code=issued.code)
    assert exc.value.code == "activation_revoked"
    with pytest.raises(Conflict):
        services.activation_revoke(activation=issued.activation, officer=officer)


def test_swapped_link_and_code_pairs_do_not_work(issue, db):
    first = issue(target=make_person(last_name="Maes"), email="a@example.org")
    second = issue(target=make_person(last_name="Claes"), email="b@example.org")
    with pytest.raises(ValidationFailed) as exc:
        services.activation_redeem(link_token=first.link_token, code=second.code)
    assert exc.value.code == "activation_code_wrong"
    with pytest.raises(ValidationFailed):
        services.activation_redeem(link_token=second.link_token, code=first.code)
    assert not User.objects.filter(person__isnull=False).exists()
    # each pair still works with its own half
    assert services.activation_redeem(link_token=first.link_token, code=first.code).email == "a@example.org"


def test_a_code_without_its_link_or_an_unknown_link_is_worthless(issue):
    issued = issue()
    with pytest.raises(NotFound):
        services.activation_redeem(link_token="", code=issued.code)
    with pytest.raises(NotFound):
        services.activation_redeem(link_token=issued.code, code=issued.code)


def test_a_new_activation_revokes_the_pending_one(issue, person):
    old = issue()
    new = issue()
    with pytest.raises(ValidationFailed) as exc:
        services.activation_redeem(link_token=old.link_token, code=old.code)
    assert exc.value.code == "activation_revoked"
    assert services.activation_redeem(link_token=new.link_token, code=new.code).person == person


def test_only_officers_issue_search_and_revoke(other_staff, person, issue):
    with pytest.raises(NotAllowed):
        services.activation_issue(officer=other_staff, person=person, email="x@example.org",
                                  language="fr")
    with pytest.raises(NotAllowed):
        services.lra_register_search(officer=other_staff, number=person.number)
    issued = issue()
    with pytest.raises(NotAllowed):
        services.activation_revoke(activation=issued.activation, officer=other_staff)


def test_issue_validates_email_and_refuses_an_address_of_another_citizen(issue, officer, db):
    with pytest.raises(ValidationFailed) as exc:
        issue(email="not-an-address")
    assert "email" in exc.value.details
    other = make_person(last_name="Janssens")
    services.citizen_account_for_person(person=other, email="taken@example.org")
    with pytest.raises(ValidationFailed) as exc:
        issue(email="TAKEN@example.org")
    assert "email" in exc.value.details
    assert not Activation.objects.exists()


def test_link_page_gives_translated_messages_and_the_code_form(client, issue):
    issued = issue(language="fr")
    url = f"/fr/account/activate/{issued.link_token}/"
    assert client.get(url).status_code == 200
    response = client.post(url, {"code": "AAAA-BBBB-CCCC"})
    assert response.status_code == 400
    assert "4" in response.content.decode()  # tries left
    response = client.post(url, {"code": issued.code})
    assert response.status_code == 302 and response["Location"] == "/fr/account/keys/new/"
    gone = client.get(url)
    assert gone.status_code == 400
    assert "déjà été utilisée" in gone.content.decode()
    assert client.get("/en/account/activate/garbage/").status_code == 404


def test_activation_started_at_the_page_is_rate_limited_per_activation(client, issue, settings):
    settings.IDENTITY_RATE_PER_ACCOUNT = "3/15m"
    settings.IDENTITY_RATE_PER_IP = "100/15m"
    settings.IDENTITY_ACTIVATION_MAX_TRIES = 50
    issued = issue()
    url = f"/en/account/activate/{issued.link_token}/"
    for _ in range(3):
        assert client.post(url, {"code": "AAAA"}).status_code == 400
    limited = client.post(url, {"code": issued.code})
    assert limited.status_code == 429
    assert "Too many attempts" in limited.content.decode()
    assert IdentityAuditEvent.objects.filter(action=AuditAction.RATE_LIMITED).exists()
    assert Activation.objects.get().used_at is None


def test_register_search_is_audited_with_its_criteria_and_results(officer, person):
    found = services.lra_register_search(officer=officer, number=person.number, ip="10.1.1.1")
    assert found == [person]
    event = IdentityAuditEvent.objects.get(action=AuditAction.REGISTER_SEARCH)
    assert event.details["results"] == [person.number]
    with pytest.raises(ValidationFailed):
        services.lra_register_search(officer=officer, number="12345678901")
    with pytest.raises(ValidationFailed) as exc:
        services.lra_register_search(officer=officer, last_name="Peeters")
    assert "birth_date" in exc.value.details


def test_email_body_is_translated_for_each_language(officer, django_capture_on_commit_callbacks):
    expected = {"fr": "Ouvrez", "nl": "Open", "de": "Öffnen", "en": "Open"}
    for language, word in expected.items():
        target = make_person(last_name=f"Lang{language}")
        with django_capture_on_commit_callbacks(execute=True):
            services.activation_issue(officer=officer, person=target,
                                      email=f"{language}@example.org", language=language)
        body = mail.outbox[-1].body
        assert word in body, (language, body)
        assert re.search(rf"/{language}/account/activate/", body)
