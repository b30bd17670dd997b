"""The SLA clock stops while a case waits for the citizen, and the deadline moves by the
working days spent waiting (Belgian holidays do not count) when the case resumes."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from crm import selectors, services, sla
from crm.constants import EventKind, SlaStatus
from crm.tests import factories as f
from crm.workflow import CaseState

TZ = ZoneInfo("Europe/Brussels")


def at(day: int, hour: int = 10, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, 0, tzinfo=TZ)


@pytest.fixture
def clock(monkeypatch):
    """Set the platform's `now` (timezone.now) to a given moment."""
    def _set(moment: dt.datetime) -> None:
        monkeypatch.setattr(timezone, "now", lambda: moment)
    return _set


@pytest.mark.parametrize(("paused", "resumed", "days"), [
    (at(4), at(4, 16), 0),                 # within the day
    (at(6, 16), at(9, 9), 1),              # Friday to Monday: the Monday
    (at(10), at(12), 1),                   # over Armistice (11 November): the 12th only
    (at(4), at(17), 8),                    # Wed 4 to Tue 17: eight working days
    (at(24, month=12), at(28, month=12), 1),  # Christmas and the weekend do not count
])
def test_the_pause_costs_the_working_days_spent_waiting(paused, resumed, days):
    assert sla.pause_working_days(paused, resumed) == days


def test_the_deadline_moves_by_the_working_days_of_the_pause():
    due = sla.due_at(at(2), 5)  # Monday 2 November + 5 working days: Monday 9
    assert due == dt.datetime(2026, 11, 9, 23, 59, 59, tzinfo=TZ)
    moved, days = sla.extend_for_pause(due, at(4), at(17))
    assert days == 8
    # 10, (11 is a holiday), 12, 13, 16, 17, 18, 19, 20
    assert moved == dt.datetime(2026, 11, 20, 23, 59, 59, tzinfo=TZ)
    assert sla.extend_for_pause(due, at(4), at(4, 18)) == (due, 0)


@pytest.fixture
def waiting_case(clock, queue, agent, citizen):
    """A case submitted Monday 2 November (due Monday 9), on which the agent asks the
    citizen for information on Wednesday 4 November at 10:00."""
    case = f.CaseFactory(queue=queue, requester=citizen, assignee=agent, created_at=at(2),
                         sla_due_at=sla.due_at(at(2), 5))
    clock(at(4))
    services.case_request_information(case=case, agent=agent, message="Send your ID card")
    case.refresh_from_db()
    assert case.state == CaseState.AWAITING_CITIZEN
    assert case.sla_paused_at == at(4)
    return case


@pytest.mark.django_db
def test_the_citizens_answer_moves_the_deadline_and_the_timeline_says_so(
        waiting_case, clock, citizen):
    case = waiting_case
    clock(at(17, 9))
    services.case_citizen_reply(case=case, citizen=citizen, body="Here it is")
    case.refresh_from_db()
    assert case.state == CaseState.IN_PROGRESS
    assert case.sla_paused_at is None
    assert case.sla_due_at == dt.datetime(2026, 11, 20, 23, 59, 59, tzinfo=TZ)
    timeline = selectors.case_timeline(case)
    kinds = [e.kind for e in timeline]
    # the move is recorded right after the state change that restarted the clock
    assert kinds[-2:] == [EventKind.TRANSITION, EventKind.SLA_EXTENDED]
    moved = timeline[-1]
    assert "8" in moved.note and "20" in moved.note
    assert EventKind.SLA_EXTENDED not in {e.kind for e in
                                          selectors.case_timeline(case, public_only=True)}


@pytest.mark.django_db
def test_the_back_office_timeline_shows_the_moved_deadline(waiting_case, clock, citizen,
                                                           queue, monkeypatch):
    from django.utils.html import escape

    from crm.tests.uihelpers import make_staff, staff_client

    clock(at(17, 9))
    services.case_citizen_reply(case=waiting_case, citizen=citizen, body="Here it is")
    monkeypatch.undo()  # the page itself at the real time
    moved = waiting_case.events.get(kind=EventKind.SLA_EXTENDED)
    colleague = make_staff("colleague", "Case agent")
    queue.members.add(colleague)
    body = staff_client(colleague).get(f"/admin/crm/cases/{waiting_case.reference}/")
    assert body.status_code == 200
    assert escape(moved.note) in body.content.decode()


@pytest.mark.django_db
def test_a_paused_case_is_never_flagged_and_is_judged_on_its_moved_deadline(
        waiting_case, clock, citizen):
    case = waiting_case
    # long past the original deadline (9 November) while waiting: not flagged
    assert services.cases_flag_sla(now=at(16)) == {"near": 0, "overdue": 0}
    case.refresh_from_db()
    assert case.sla_status == SlaStatus.ON_TIME
    assert not case.events.filter(kind__in=[EventKind.SLA_NEAR,
                                            EventKind.SLA_OVERDUE]).exists()
    clock(at(17, 9))
    services.case_citizen_reply(case=case, citizen=citizen, body="Here it is")
    # on the 18th the deadline (20th) is neither near nor past
    assert services.cases_flag_sla(now=at(18, 9)) == {"near": 0, "overdue": 0}
    # on the 19th it is near, and past on the 23rd
    assert services.cases_flag_sla(now=at(19, 9)) == {"near": 1, "overdue": 0}
    assert services.cases_flag_sla(now=at(23, 9)) == {"near": 0, "overdue": 1}


@pytest.mark.django_db
def test_a_flag_the_moved_deadline_no_longer_deserves_is_lowered(waiting_case, clock, agent):
    from crm.models import Case

    Case.objects.filter(pk=waiting_case.pk).update(sla_status=SlaStatus.OVERDUE)
    clock(at(17, 9))
    # the agent takes the case back without an answer: the wait still does not count
    services.case_transition(case=waiting_case, to_state=CaseState.IN_PROGRESS, actor=agent)
    waiting_case.refresh_from_db()
    assert waiting_case.sla_due_at.date() == dt.date(2026, 11, 20)
    assert waiting_case.sla_status == SlaStatus.ON_TIME


@pytest.mark.django_db
def test_an_answer_the_same_day_leaves_the_deadline_alone(waiting_case, clock, citizen):
    due = waiting_case.sla_due_at
    clock(at(4, 15))
    services.case_citizen_reply(case=waiting_case, citizen=citizen, body="Here it is")
    waiting_case.refresh_from_db()
    assert waiting_case.sla_due_at == due and waiting_case.sla_paused_at is None
    assert not waiting_case.events.filter(kind=EventKind.SLA_EXTENDED).exists()


@pytest.mark.django_db
def test_a_case_closed_while_waiting_is_not_extended(waiting_case, clock, agent):
    due = waiting_case.sla_due_at
    clock(at(17))
    services.case_reject(case=waiting_case, agent=agent, reason="No answer")
    waiting_case.refresh_from_db()
    assert waiting_case.state == CaseState.REJECTED
    assert waiting_case.sla_due_at == due and waiting_case.sla_paused_at is None
    assert not waiting_case.events.filter(kind=EventKind.SLA_EXTENDED).exists()
