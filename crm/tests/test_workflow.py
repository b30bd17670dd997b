"""The state machine: one test walks the whole table (every state pair, every role)."""

from __future__ import annotations

import itertools

import pytest

from core.errors import DomainError, NotAllowed, ValidationFailed
from crm import services
from crm.constants import EventKind, Topic
from crm.errors import TransitionNotAllowed
from crm.models import CaseEvent, OutboxMessage
from crm.tests import factories as f
from crm.workflow import FINAL_STATES, TRANSITIONS, CaseState, Role, is_allowed, next_states

pytestmark = pytest.mark.django_db

ROLES = [Role.CITIZEN, Role.AGENT, Role.SUPERVISOR, Role.SYSTEM]


@pytest.fixture
def actors(queue, agent, supervisor):
    def actor_for(role, case):
        return {Role.CITIZEN: case.requester, Role.AGENT: agent,
                Role.SUPERVISOR: supervisor, Role.SYSTEM: None}[role]
    return actor_for


def test_the_table_only_names_known_states_and_final_states_lead_nowhere():
    for (frm, to), roles in TRANSITIONS.items():
        assert frm in CaseState.values and to in CaseState.values and roles
        assert frm not in FINAL_STATES
    for state in FINAL_STATES:
        assert next_states(state, set(Role.values)) == []


def test_walk_the_whole_transition_table(queue, actors):
    """Every allowed (from, to, role) succeeds and writes one event; every other
    combination is refused with a domain error and writes nothing."""
    procedure = f.ProcedureFactory()
    checked = allowed = 0
    for frm, to in itertools.product(CaseState, CaseState):
        for role in ROLES:
            case = f.CaseFactory(procedure=procedure, queue=queue, state=frm)
            actor = actors(role, case)
            events_before = CaseEvent.objects.count()
            outbox_before = OutboxMessage.objects.count()
            checked += 1
            if is_allowed(frm, to, role):
                allowed += 1
                services.case_transition(case=case, to_state=to, actor=actor, note="walk")
                case.refresh_from_db()
                assert case.state == to, (frm, to, role)
                event = CaseEvent.objects.filter(case=case).latest("id")
                assert (event.from_state, event.to_state, event.actor) == (frm, to, actor)
                assert event.kind == EventKind.TRANSITION
                assert CaseEvent.objects.count() == events_before + 1
                assert (case.closed_at is not None) == (to in FINAL_STATES)
            else:
                with pytest.raises(DomainError):
                    services.case_transition(case=case, to_state=to, actor=actor)
                case.refresh_from_db()
                assert case.state == frm, (frm, to, role)
                assert CaseEvent.objects.count() == events_before
                assert OutboxMessage.objects.count() == outbox_before
    assert checked == len(CaseState) ** 2 * len(ROLES)
    assert allowed == sum(len(roles) for roles in TRANSITIONS.values())


def test_a_stranger_cannot_act_on_a_case(queue):
    case = f.CaseFactory(queue=queue)
    with pytest.raises(NotAllowed):
        services.case_transition(case=case, to_state=CaseState.CANCELLED,
                                 actor=f.CitizenFactory())


def test_agent_of_another_queue_cannot_act(queue):
    other = f.QueueFactory(department="cleanliness")
    case = f.CaseFactory(queue=queue)
    with pytest.raises(NotAllowed):
        services.case_transition(case=case, to_state=CaseState.APPROVED,
                                 actor=f.agent_of(other))


def test_unknown_target_state_is_a_validation_error(queue):
    case = f.CaseFactory(queue=queue)
    with pytest.raises(ValidationFailed):
        services.case_transition(case=case, to_state="teleported", actor=None)


# --- the services built on the table ----------------------------------------------------

def test_approve_needs_the_case_to_be_taken_first(queue, agent):
    case = f.CaseFactory(queue=queue)
    with pytest.raises(NotAllowed):
        services.case_approve(case=case, agent=agent)
    services.case_claim(case=case, agent=agent)
    services.case_approve(case=case, agent=agent, note="ok")
    case.refresh_from_db()
    assert case.state == CaseState.APPROVED
    assert OutboxMessage.objects.filter(topic=Topic.DOCUMENT_ISSUE,
                                        payload__case_id=case.pk).exists()


def test_supervisor_approves_without_taking(queue, supervisor):
    case = f.CaseFactory(queue=queue)
    services.case_approve(case=case, agent=supervisor)
    case.refresh_from_db()
    assert case.state == CaseState.APPROVED


def test_approving_a_letter_procedure_issues_no_document_and_the_agent_closes(queue, agent):
    case = f.CaseFactory(queue=queue, procedure=f.ProcedureFactory(delivery="letter"),
                         assignee=agent)
    services.case_approve(case=case, agent=agent)
    assert not OutboxMessage.objects.filter(topic=Topic.DOCUMENT_ISSUE).exists()
    services.case_close(case=case, actor=agent, note="letter posted")
    case.refresh_from_db()
    assert case.state == CaseState.CLOSED and case.closed_at
    assert OutboxMessage.objects.filter(payload__kind="closed").count() == 1


def test_reject_needs_a_reason_and_notifies(queue, agent):
    case = f.CaseFactory(queue=queue, assignee=agent)
    with pytest.raises(ValidationFailed) as exc:
        services.case_reject(case=case, agent=agent, reason="  ")
    assert "reason" in exc.value.details
    services.case_reject(case=case, agent=agent, reason="Not born in Brussels")
    case.refresh_from_db()
    assert case.state == CaseState.REJECTED
    row = OutboxMessage.objects.get(topic=Topic.CASE_NOTIFY)
    assert row.payload["kind"] == "rejected" and row.payload["note"] == "Not born in Brussels"


def test_request_information_and_citizen_reply_round_trip(queue, agent, upload):
    from crm.tests.conftest import PDF_BYTES

    case = f.CaseFactory(queue=queue, assignee=agent)
    services.case_request_information(case=case, agent=agent, message="Send your proof")
    case.refresh_from_db()
    assert case.state == CaseState.AWAITING_CITIZEN
    assert case.messages.get().direction == "to_citizen"
    assert OutboxMessage.objects.filter(payload__kind="information_requested").count() == 1
    message = services.case_citizen_reply(case=case, citizen=case.requester, body="Here it is",
                                          attachments=[("proof", upload(PDF_BYTES))])
    case.refresh_from_db()
    assert case.state == CaseState.IN_PROGRESS
    assert message.direction == "from_citizen"
    assert message.attachments.get().content_type == "application/pdf"


def test_only_the_citizen_replies(queue, agent):
    case = f.CaseFactory(queue=queue, assignee=agent, state=CaseState.AWAITING_CITIZEN)
    with pytest.raises(NotAllowed):
        services.case_citizen_reply(case=case, citizen=f.CitizenFactory(), body="hi")


def test_no_message_on_a_closed_case(queue, agent):
    case = f.CaseFactory(queue=queue, state=CaseState.CLOSED)
    with pytest.raises(TransitionNotAllowed):
        services.case_citizen_reply(case=case, citizen=case.requester, body="hello?")
    with pytest.raises(TransitionNotAllowed):
        services.case_send_message(case=case, sender=agent, body="hello")


def test_message_to_citizen_is_emailed_once(queue, agent, django_capture_on_commit_callbacks):
    from django.core import mail

    case = f.CaseFactory(queue=queue)
    with django_capture_on_commit_callbacks(execute=True):
        services.case_send_message(case=case, sender=agent, body="Your file is complete.")
    assert len(mail.outbox) == 1
    assert "Your file is complete." in mail.outbox[0].body
    assert case.events.filter(kind=EventKind.MESSAGE).count() == 1


def test_internal_note_is_staff_only(queue, agent):
    case = f.CaseFactory(queue=queue)
    note = services.case_add_note(case=case, author=agent, body="called the citizen")
    assert note.case == case
    with pytest.raises(NotAllowed):
        services.case_add_note(case=case, author=case.requester, body="I am staff")


def test_citizen_cancels_an_open_request(queue):
    case = f.CaseFactory(queue=queue)
    services.case_cancel(case=case, actor=case.requester, reason="No longer needed")
    case.refresh_from_db()
    assert case.state == CaseState.CANCELLED and case.closed_at


def test_payment_received_routes_by_workflow_kind_and_is_idempotent(queue):
    review = f.CaseFactory(queue=queue, state=CaseState.AWAITING_PAYMENT)
    services.case_payment_received(case=review, payment_reference="pi_1")
    services.case_payment_received(case=review, payment_reference="pi_1")  # webhook replay
    review.refresh_from_db()
    assert review.state == CaseState.IN_PROGRESS
    assert review.payment_reference == "pi_1"
    assert review.events.filter(kind=EventKind.PAYMENT).count() == 1

    instant = f.CaseFactory(procedure=f.ProcedureFactory(instant=True),
                            state=CaseState.AWAITING_PAYMENT)
    services.case_payment_received(case=instant, payment_reference="pi_2")
    instant.refresh_from_db()
    assert instant.state == CaseState.APPROVED
    assert OutboxMessage.objects.filter(topic=Topic.DOCUMENT_ISSUE,
                                        payload__case_id=instant.pk).count() == 1
    with pytest.raises(TransitionNotAllowed):
        services.case_payment_received(case=instant, payment_reference="pi_other")


def test_document_issued_closes_the_case_once(queue):
    case = f.CaseFactory(queue=queue, state=CaseState.APPROVED)
    services.case_document_issued(case=case, document_reference="DOC-1")
    services.case_document_issued(case=case, document_reference="DOC-1")  # task retried
    case.refresh_from_db()
    assert case.state == CaseState.CLOSED and case.document_reference == "DOC-1"
    states = list(case.events.filter(kind=EventKind.TRANSITION)
                  .values_list("from_state", "to_state"))
    assert states == [("approved", "issued"), ("issued", "closed")]
    assert OutboxMessage.objects.filter(payload__kind="issued").count() == 1


def test_document_issued_refused_before_approval(queue):
    case = f.CaseFactory(queue=queue, state=CaseState.IN_PROGRESS)
    with pytest.raises(TransitionNotAllowed):
        services.case_document_issued(case=case, document_reference="DOC-1")
