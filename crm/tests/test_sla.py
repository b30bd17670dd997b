"""The SLA calendar (Belgian public holidays) and the periodic flagging of cases."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm import services, sla
from crm.constants import EventKind, SlaStatus
from crm.tests import factories as f
from crm.workflow import CaseState

TZ = ZoneInfo("Europe/Brussels")
D = dt.date


@pytest.mark.parametrize(("day", "working"), [
    (D(2026, 1, 1), False),    # New Year
    (D(2026, 4, 6), False),    # Easter Monday 2026
    (D(2026, 5, 1), False),    # Labour Day
    (D(2026, 5, 14), False),   # Ascension 2026
    (D(2026, 5, 25), False),   # Whit Monday 2026
    (D(2026, 7, 21), False),   # National Day
    (D(2026, 8, 15), False),   # Assumption (a Saturday anyway)
    (D(2026, 11, 11), False),  # Armistice
    (D(2026, 12, 25), False),  # Christmas
    (D(2026, 11, 14), False),  # Saturday
    (D(2026, 11, 15), False),  # Sunday
    (D(2026, 11, 16), True),
    (D(2026, 5, 8), True),     # Iris Day is not a national holiday
])
def test_working_days(day, working):
    assert sla.is_working_day(day) is working


def test_extra_closing_days_from_settings(settings):
    settings.CRM_SLA_EXTRA_CLOSED_DAYS = ["05-08", "11-15"]
    assert not sla.is_working_day(D(2026, 5, 8))


def test_deadline_skips_weekends_and_holidays():
    # Friday 8 May 2026 + 5 working days: Mon 11, Tue 12, Wed 13, (Thu 14 Ascension),
    # Fri 15, Mon 18
    assert sla.add_working_days(D(2026, 5, 8), 5) == D(2026, 5, 18)
    # Christmas week: Thu 24 Dec 2026 + 2 -> (25 Christmas, weekend) Mon 28, Tue 29
    assert sla.add_working_days(D(2026, 12, 24), 2) == D(2026, 12, 29)
    # 0 days from a Saturday is the following Monday
    assert sla.add_working_days(D(2026, 11, 14), 0) == D(2026, 11, 16)


def test_due_at_is_end_of_day_in_brussels():
    start = dt.datetime(2026, 11, 20, 22, 30, tzinfo=dt.UTC)  # Fri 23:30 in Brussels
    due = sla.due_at(start, 1)
    assert due == dt.datetime(2026, 11, 23, 23, 59, 59, tzinfo=TZ)


@given(st.dates(min_value=D(2024, 1, 1), max_value=D(2030, 12, 31)),
       st.integers(min_value=0, max_value=40))
def test_deadline_is_a_working_day_exactly_n_working_days_later(day, n):
    due = sla.add_working_days(day, n)
    assert sla.is_working_day(due)
    assert due >= day
    if n:
        assert sla.working_days_between(day, due) == n


@pytest.mark.django_db
def test_sla_watch_flags_near_and_overdue_once(queue):
    now = dt.datetime(2026, 11, 18, 10, 0, tzinfo=TZ)  # a Wednesday
    overdue = f.CaseFactory(queue=queue, sla_due_at=now - dt.timedelta(hours=1))
    near = f.CaseFactory(queue=queue, sla_due_at=dt.datetime(2026, 11, 19, 12, 0, tzinfo=TZ))
    fine = f.CaseFactory(queue=queue, sla_due_at=dt.datetime(2026, 11, 25, 12, 0, tzinfo=TZ))
    closed = f.CaseFactory(queue=queue, state=CaseState.CLOSED,
                           sla_due_at=now - dt.timedelta(days=3))
    waiting_payment = f.CaseFactory(queue=queue, state=CaseState.AWAITING_PAYMENT,
                                    sla_due_at=now - dt.timedelta(days=3))
    assert services.cases_flag_sla(now=now) == {"near": 1, "overdue": 1}
    assert services.cases_flag_sla(now=now) == {"near": 0, "overdue": 0}  # no repeat
    for case, status in ((overdue, SlaStatus.OVERDUE), (near, SlaStatus.NEAR),
                         (fine, ""), (closed, ""), (waiting_payment, "")):
        case.refresh_from_db()
        assert case.sla_status == status
    assert overdue.events.filter(kind=EventKind.SLA_OVERDUE).count() == 1
    assert near.events.filter(kind=EventKind.SLA_NEAR).count() == 1
    # a day later the near one is overdue: one more event, once
    later = now + dt.timedelta(days=2)
    assert services.cases_flag_sla(now=later)["overdue"] == 1
    assert near.events.filter(kind=EventKind.SLA_OVERDUE).count() == 1


@pytest.mark.django_db
def test_sla_watch_task_runs(queue):
    from crm.tasks import sla_watch

    f.CaseFactory(queue=queue, sla_due_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    assert sla_watch.delay().get() == {"near": 0, "overdue": 1}
