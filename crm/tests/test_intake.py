"""case_submit: the one intake of every channel."""

from __future__ import annotations

import os
import re

import pytest
from django.core import mail
from django.utils import translation

from catalogue.constants import Department
from core.errors import NotAllowed, ValidationFailed
from crm.constants import EventKind, Topic
from crm.errors import AssuranceTooLow, ChannelNotOffered, DuplicateOpenCase
from crm.models import Case, CaseAttachment, CaseEvent, OutboxMessage
from crm.services import case_submit
from crm.tests import factories as f
from crm.tests.conftest import PDF_BYTES, PNG_BYTES, Upload
from crm.workflow import CaseState
from identity.constants import AssuranceLevel

pytestmark = pytest.mark.django_db(transaction=False)


def _nothing_written():
    assert Case.objects.count() == 0
    assert CaseEvent.objects.count() == 0
    assert OutboxMessage.objects.count() == 0
    assert CaseAttachment.objects.count() == 0


def _media_files(settings) -> list[str]:
    found = []
    for root, _dirs, files in os.walk(settings.MEDIA_ROOT):
        found += [os.path.join(root, name) for name in files]
    return found


def test_agent_review_request_enters_department_queue_with_reference_events_and_outbox(
        submit, queue):
    case = submit()
    assert re.fullmatch(r"BXL-\d{4}-\d{6}", case.reference)
    assert case.state == CaseState.IN_PROGRESS
    assert case.queue == queue
    assert case.assignee is None
    assert case.sla_due_at is not None and case.sla_due_at > case.created_at
    events = list(case.events.order_by("id").values_list("kind", "from_state", "to_state"))
    assert events == [(EventKind.CREATED, "", "submitted"),
                      (EventKind.TRANSITION, "submitted", "in_progress")]
    topics = sorted(OutboxMessage.objects.values_list("topic", flat=True))
    assert topics == [Topic.CASE_NOTIFY, Topic.SEARCH_INDEX]


def test_references_are_sequential_and_unique(submit, procedure):
    procedure.one_open_case_per_person = False
    procedure.save()
    refs = [submit().reference for _ in range(3)]
    numbers = [int(r.rsplit("-", 1)[1]) for r in refs]
    assert len(set(refs)) == 3
    assert numbers == sorted(numbers)


def test_paid_procedure_waits_for_payment(submit):
    case = submit(procedure=f.ProcedureFactory(paid=True))
    assert case.state == CaseState.AWAITING_PAYMENT
    assert case.fee_cents == 500


def test_counter_fee_differs_from_web_fee(db, citizen):
    agent = f.counter_agent()
    procedure = f.ProcedureFactory(paid=True)
    case = case_submit(procedure=procedure, requester=citizen, channel="counter",
                       data={"purpose": "x"}, acting_agent=agent)
    assert case.fee_cents == 700
    assert case.created_by == agent
    assert case.events.get(kind=EventKind.CREATED).actor == agent


def test_instant_procedure_is_approved_and_asks_for_the_document(submit):
    case = submit(procedure=f.ProcedureFactory(instant=True))
    assert case.state == CaseState.APPROVED
    row = OutboxMessage.objects.get(topic=Topic.DOCUMENT_ISSUE)
    assert row.payload == {"case_id": case.pk}
    assert case.queue.department == Department.DEMOGRAPHY  # routed, created on demand


def test_confirmation_email_in_the_language_of_the_request(
        submit, citizen, django_capture_on_commit_callbacks):
    with translation.override("fr"), django_capture_on_commit_callbacks(execute=True):
        case = submit(language="nl")
    assert case.language == "nl"
    assert len(mail.outbox) == 1  # eager relay in tests: sent after commit
    message = mail.outbox[0]
    assert message.to == [citizen.email]
    assert case.reference in message.subject
    assert "aanvraag" in message.subject.lower() or "aanvraag" in message.body.lower()
    row = OutboxMessage.objects.get(topic=Topic.CASE_NOTIFY)
    assert row.dispatched_at is not None and row.processed_at is not None


def test_language_defaults_to_the_citizens_preference(submit, citizen):
    citizen.preferred_language = "de"
    citizen.save()
    assert submit().language == "de"


def test_channel_not_offered_is_refused(submit, procedure):
    procedure.offered_kiosk = False
    procedure.save()
    with pytest.raises(ChannelNotOffered):
        submit(channel="kiosk")
    with pytest.raises(ChannelNotOffered):
        submit(channel="fax")
    _nothing_written()


def test_inactive_procedure_is_refused(submit, procedure):
    procedure.active = False
    procedure.save()
    with pytest.raises(ChannelNotOffered):
        submit()


@pytest.mark.parametrize("level", [None, AssuranceLevel.NONE, AssuranceLevel.LOW])
def test_assurance_level_below_the_procedure_is_refused(submit, level):
    with pytest.raises(AssuranceTooLow) as exc:
        submit(assurance_level=level)
    assert exc.value.status == 403
    _nothing_written()


def test_assurance_message_is_translated(submit):
    with translation.override("fr"), pytest.raises(AssuranceTooLow) as exc:
        submit(assurance_level=AssuranceLevel.LOW)
    assert "connexion" in str(exc.value.message).lower() or "niveau" in str(
        exc.value.message).lower()


def test_counter_request_needs_a_counter_agent(db, citizen, procedure):
    with pytest.raises(NotAllowed):
        case_submit(procedure=procedure, requester=citizen, channel="counter",
                    data={"purpose": "x"})
    with pytest.raises(NotAllowed):
        case_submit(procedure=procedure, requester=citizen, channel="counter",
                    data={"purpose": "x"}, acting_agent=f.StaffFactory())
    _nothing_written()


def test_counter_agent_submits_for_a_person_without_account(db, procedure):
    person = f.PersonFactory()
    case = case_submit(procedure=procedure, requester=None, person=person, channel="counter",
                       data={"purpose": "x"}, acting_agent=f.counter_agent(), language="nl")
    assert case.person == person and case.requester is None


def test_account_without_register_entry_is_refused(submit):
    with pytest.raises(NotAllowed):
        submit(requester=f.UserFactory())


def test_citizen_cannot_submit_for_another_person(submit):
    with pytest.raises(NotAllowed):
        submit(person=f.PersonFactory())


def test_bad_form_data_gives_translated_errors_per_field(submit):
    with translation.override("en"), pytest.raises(ValidationFailed) as exc:
        submit(data={"copies": "three", "unknown": 1})
    details = exc.value.details
    assert set(details) == {"purpose", "copies", "unknown"}
    assert details["purpose"] == ["This field is required."]
    assert details["copies"] == ["Enter a whole number."]
    _nothing_written()


def test_form_data_that_is_not_an_object_is_refused(submit):
    with pytest.raises(ValidationFailed):
        submit(data=["purpose"])


def test_duplicate_open_request_is_refused_then_allowed_once_closed(submit):
    first = submit()
    with pytest.raises(DuplicateOpenCase):
        submit()
    assert Case.objects.count() == 1
    Case.objects.filter(pk=first.pk).update(state=CaseState.CLOSED)
    assert submit().pk != first.pk


def test_duplicates_allowed_when_the_catalogue_says_so(submit, procedure):
    procedure.one_open_case_per_person = False
    procedure.save()
    submit()
    submit()
    assert Case.objects.count() == 2


# --- attachments --------------------------------------------------------------------------

@pytest.fixture
def proof_procedure(db):
    return f.ProcedureFactory(with_proof=True)


def test_attachment_is_stored_with_sniffed_type_and_hash(submit, proof_procedure, settings):
    case = submit(procedure=proof_procedure,
                  attachments=[("proof", Upload(PNG_BYTES, "scan.pdf", "application/pdf"))])
    attachment = case.attachments.get()
    assert attachment.content_type == "image/png"  # from the bytes, not the name/header
    assert attachment.size == len(PNG_BYTES)
    assert attachment.original_name == "scan.pdf"
    assert len(attachment.sha256) == 64
    with attachment.file.open("rb") as fh:
        assert fh.read() == PNG_BYTES
    assert "scan" not in attachment.file.name  # the citizen's name is never the disk path


@pytest.mark.parametrize(("content", "message"), [
    (b"", "empty"),
    (b"GIF89a" + b"\0" * 20, "type"),  # a GIF: real type, not allowed here
    (b"just some text, called a pdf", "type"),
    (b"%PDF-1.4\n" + b"0" * (64 * 1024), "large"),
])
def test_bad_attachments_are_refused_and_nothing_is_stored(
        submit, proof_procedure, settings, content, message):
    with translation.override("en"), pytest.raises(ValidationFailed) as exc:
        submit(procedure=proof_procedure, attachments=[("proof", Upload(content, "a.pdf"))])
    assert message in exc.value.details["proof"][0].lower()
    _nothing_written()
    assert _media_files(settings) == []


def test_required_attachment_missing(submit, proof_procedure):
    with pytest.raises(ValidationFailed) as exc:
        submit(procedure=proof_procedure)
    assert "proof" in exc.value.details


def test_unknown_attachment_code_is_refused(submit, proof_procedure):
    with pytest.raises(ValidationFailed) as exc:
        submit(procedure=proof_procedure, attachments=[
            ("proof", Upload(PDF_BYTES)), ("passport", Upload(PDF_BYTES))])
    assert list(exc.value.details) == ["passport"]


def test_global_size_ceiling_applies_over_the_procedure(submit, proof_procedure, settings):
    settings.CRM_ATTACHMENT_MAX_BYTES = 100
    with pytest.raises(ValidationFailed):
        submit(procedure=proof_procedure, attachments=[("proof", Upload(PDF_BYTES))])


def test_failure_in_the_middle_leaves_no_case_event_outbox_row_or_file(
        submit, proof_procedure, settings, monkeypatch):
    """The outbox write fails after the case, its events and its file were written: the
    transaction rolls back and the stored file is deleted."""
    import crm.services

    def broken(items):
        raise RuntimeError("database went away")

    monkeypatch.setattr(crm.services, "outbox_write_many", broken)
    with pytest.raises(RuntimeError):
        submit(procedure=proof_procedure, attachments=[("proof", Upload(PDF_BYTES))])
    _nothing_written()
    assert _media_files(settings) == []


def test_a_rolled_back_first_request_of_the_year_does_not_break_the_next(submit, procedure):
    """The reference sequence created by a submit that rolls back is gone again; the next
    submit must create it anew rather than trust a remembered name."""
    from django.db import transaction

    procedure.one_open_case_per_person = False
    procedure.save()
    with pytest.raises(RuntimeError), transaction.atomic():
        submit()
        raise RuntimeError("rolled back")
    assert re.fullmatch(r"BXL-\d{4}-\d{6}", submit().reference)


def test_the_case_returned_is_the_case_written(submit, procedure):
    procedure.one_open_case_per_person = False  # PostgreSQL: one statement, no transaction
    procedure.save()
    case = submit()
    stored = Case.objects.get(pk=case.pk)
    for name in ("reference", "procedure_id", "requester_id", "person_id", "channel",
                 "language", "data", "state", "queue_id", "fee_cents", "sla_due_at",
                 "created_at", "created_by_id"):
        assert getattr(case, name) == getattr(stored, name), name
    keys = set(OutboxMessage.objects.values_list("dedup_key", flat=True))
    assert keys == {f"case.notify:{case.pk}:submitted:created",
                    f"search.index:{case.pk}:created"}
    assert OutboxMessage.objects.get(topic=Topic.CASE_NOTIFY).payload == {
        "case_id": case.pk, "kind": "submitted"}


def test_a_department_whose_queues_went_away_gets_one_again(submit, procedure):
    first = submit(procedure=f.ProcedureFactory(department=Department.DEMOGRAPHY,
                                                one_open_case_per_person=False))
    assert first.queue.department == Department.DEMOGRAPHY
    Case.objects.filter(pk=first.pk).delete()
    first.queue.delete()  # the intake still believes the department has a queue
    case = submit(procedure=f.ProcedureFactory(department=Department.DEMOGRAPHY,
                                               one_open_case_per_person=False))
    case.refresh_from_db()
    assert case.queue is not None and case.queue.department == Department.DEMOGRAPHY


def test_references_past_a_million_keep_every_digit(submit, procedure):
    from django.db import connection
    from django.utils import timezone

    from crm.models import CaseReferenceCounter

    procedure.one_open_case_per_person = False
    procedure.save()
    year = timezone.localtime().year
    submit()  # makes the year's counter
    if connection.vendor != "postgresql":
        CaseReferenceCounter.objects.filter(year=year).update(last=999999)
        assert submit().reference == f"BXL-{year}-1000000"
        return
    sequence = f"crm_case_ref_{year}"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT last_value FROM {sequence}")  # noqa: S608 - our own name
        before = cursor.fetchone()[0]
        cursor.execute("SELECT setval(%s, 999999)", [sequence])
    try:
        assert submit().reference == f"BXL-{year}-1000000"
    finally:  # sequences ignore the test's rollback: put it back for the other tests
        with connection.cursor() as cursor:
            cursor.execute("SELECT setval(%s, %s)", [sequence, before])
