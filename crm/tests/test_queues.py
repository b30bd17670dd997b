"""Queues: claiming, concurrent claims (PostgreSQL row locks), reassigning, escalating."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection, connections
from django.utils import timezone

from core.errors import Conflict, NotAllowed, ValidationFailed
from core.testing import IN_CI
from crm import services
from crm.constants import EventKind
from crm.errors import NotAQueueMember
from crm.models import Case
from crm.tests import factories as f
from crm.workflow import CaseState


@pytest.mark.django_db
def test_claim_next_takes_the_most_urgent_unassigned_case(queue, agent, other_agent):
    now = timezone.now()
    later = f.CaseFactory(queue=queue, sla_due_at=now + dt.timedelta(days=5))
    urgent = f.CaseFactory(queue=queue, sla_due_at=now + dt.timedelta(days=1))
    f.CaseFactory(queue=queue, sla_due_at=now, assignee=other_agent)  # taken
    f.CaseFactory(queue=queue, sla_due_at=now, state=CaseState.AWAITING_PAYMENT)  # not ready
    assert services.case_claim_next(queue=queue, agent=agent) == urgent
    assert services.case_claim_next(queue=queue, agent=agent) == later
    assert services.case_claim_next(queue=queue, agent=agent) is None
    urgent.refresh_from_db()
    assert urgent.assignee == agent
    assert urgent.events.filter(kind=EventKind.CLAIMED, actor=agent).count() == 1


@pytest.mark.django_db
def test_only_members_and_supervisors_claim(queue, supervisor):
    f.CaseFactory(queue=queue)
    outsider = f.agent_of(f.QueueFactory(department="cleanliness"))
    with pytest.raises(NotAQueueMember):
        services.case_claim_next(queue=queue, agent=outsider)
    assert services.case_claim_next(queue=queue, agent=supervisor) is not None


@pytest.mark.django_db
def test_claiming_a_case_taken_by_someone_else_conflicts(queue, agent, other_agent):
    case = f.CaseFactory(queue=queue)
    services.case_claim(case=case, agent=agent)
    services.case_claim(case=case, agent=agent)  # idempotent for the same agent
    with pytest.raises(Conflict):
        services.case_claim(case=case, agent=other_agent)
    assert case.events.filter(kind=EventKind.CLAIMED).count() == 1


@pytest.mark.django_db
def test_reassign_rules(queue, agent, other_agent, supervisor):
    case = f.CaseFactory(queue=queue, assignee=agent)
    with pytest.raises(NotAllowed):  # not theirs
        services.case_assign(case=case, agent=other_agent, actor=other_agent)
    services.case_assign(case=case, agent=other_agent, actor=agent)  # hands over
    case.refresh_from_db()
    assert case.assignee == other_agent
    services.case_assign(case=case, agent=agent, actor=supervisor)
    case.refresh_from_db()
    assert case.assignee == agent
    outsider = f.agent_of(f.QueueFactory(department="cleanliness"))
    with pytest.raises(NotAQueueMember):
        services.case_assign(case=case, agent=outsider, actor=supervisor)
    services.case_assign(case=case, agent=None, actor=supervisor)  # back to the queue
    case.refresh_from_db()
    assert case.assignee is None
    assert case.events.filter(kind=EventKind.ASSIGNED).count() == 3


@pytest.mark.django_db
def test_escalate_needs_a_reason_and_flags_the_case(queue, agent):
    case = f.CaseFactory(queue=queue, assignee=agent)
    with pytest.raises(ValidationFailed):
        services.case_escalate(case=case, actor=agent, note="")
    services.case_escalate(case=case, actor=agent, note="Contested paternity")
    case.refresh_from_db()
    assert case.escalated
    assert case.events.get(kind=EventKind.ESCALATED).note == "Contested paternity"
    with pytest.raises(NotAllowed):
        services.case_escalate(case=case, actor=case.requester, note="please")


@pytest.mark.django_db
def test_new_department_gets_a_queue_on_first_request(submit):
    case = submit(procedure=f.ProcedureFactory(department="mobility"))
    assert case.queue.department == "mobility"
    assert case.queue.code == "mobility"


@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_never_give_one_case_to_two_agents(queue):
    """Eight agents claim from one queue at the same time, in threads with their own
    database connections: SELECT ... FOR UPDATE SKIP LOCKED hands each case to one agent."""
    if connection.vendor != "postgresql":
        message = "the row-locking claim is tested on PostgreSQL (set DATABASE_URL)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    agents = [f.agent_of(queue) for _ in range(8)]
    procedure = f.ProcedureFactory()
    total = 60
    for _ in range(total):
        f.CaseFactory(queue=queue, procedure=procedure)
    claims: dict[int, list[int]] = {a.pk: [] for a in agents}
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(agents))

    def work(agent):
        try:
            barrier.wait()
            while (case := services.case_claim_next(queue=queue, agent=agent)) is not None:
                claims[agent.pk].append(case.pk)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(a,)) for a in agents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    claimed = [pk for pks in claims.values() for pk in pks]
    assert len(claimed) == total
    assert len(set(claimed)) == total  # nobody got a case twice
    assert sum(1 for pks in claims.values() if pks) > 1  # really concurrent
    for agent in agents:
        assert set(Case.objects.filter(assignee=agent).values_list("pk", flat=True)) == set(
            claims[agent.pk])
