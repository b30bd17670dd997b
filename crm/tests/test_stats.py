"""Statistics: requests per procedure/channel/month, share online, time to close."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from crm import stats
from crm.tests import factories as f
from crm.workflow import CaseState

pytestmark = pytest.mark.django_db
TZ = ZoneInfo("Europe/Brussels")


def at(day, hour=12):
    return dt.datetime(2026, *day, hour, tzinfo=TZ)


@pytest.fixture
def data(queue):
    birth = f.ProcedureFactory(code="birth", category="civil_status")
    household = f.ProcedureFactory(code="household", category="population",
                                   department="demography")
    rows = [
        (birth, "web", at((1, 10)), at((1, 12)), CaseState.CLOSED),
        (birth, "web", at((1, 31), 23), at((2, 4)), CaseState.CLOSED),
        (birth, "counter", at((2, 1), 0), None, CaseState.IN_PROGRESS),
        (birth, "kiosk", at((2, 3)), at((2, 13)), CaseState.REJECTED),
        (household, "mobile", at((2, 5)), at((2, 5), 13), CaseState.CLOSED),
        (household, "counter", at((2, 6)), at((2, 7)), CaseState.CANCELLED),
        (household, "web", at((3, 1)), None, CaseState.IN_PROGRESS),  # out of period
    ]
    for procedure, channel, created, closed, state in rows:
        f.CaseFactory(procedure=procedure, channel=channel, created_at=created,
                      closed_at=closed, state=state)


def test_requests_per_procedure_channel_month_in_brussels_time(data):
    rows = stats.requests_per_month(start=dt.date(2026, 1, 1), end=dt.date(2026, 2, 28))
    got = {(r["month"], r["procedure"], r["channel"]): r["count"] for r in rows}
    assert got == {
        (dt.date(2026, 1, 1), "birth", "web"): 2,  # 31 Jan 23:00 Brussels is January
        (dt.date(2026, 2, 1), "birth", "counter"): 1,
        (dt.date(2026, 2, 1), "birth", "kiosk"): 1,
        (dt.date(2026, 2, 1), "household", "mobile"): 1,
        (dt.date(2026, 2, 1), "household", "counter"): 1,
    }


def test_share_online_per_category(data):
    rows = {r["key"]: r for r in stats.online_share(start=dt.date(2026, 1, 1),
                                                     end=dt.date(2026, 2, 28))}
    assert rows["civil_status"]["total"] == 4
    assert rows["civil_status"]["online"] == 3  # web, web, kiosk
    assert rows["civil_status"]["share_online"] == pytest.approx(0.75)
    assert rows["population"]["share_online"] == pytest.approx(0.5)
    assert rows["population"]["channels"]["mobile"] == 1


def test_departments_restrict_the_figures(data):
    rows = stats.online_share(start=dt.date(2026, 1, 1), end=dt.date(2026, 2, 28),
                              departments=["demography"])
    assert [r["key"] for r in rows] == ["population"]


def test_time_to_close_counts_completed_requests_only(data):
    rows = {r["procedure"]: r for r in stats.time_to_close(start=dt.date(2026, 1, 1),
                                                            end=dt.date(2026, 2, 28))}
    birth = rows["birth"]
    assert birth["count"] == 3  # two closed, one rejected; the open one does not count
    durations = sorted([2.0, 3 + 13 / 24, 10.0])  # days
    assert birth["median_days"] == pytest.approx(durations[1], rel=1e-6)
    assert birth["avg_days"] == pytest.approx(sum(durations) / 3, rel=1e-6)
    assert birth["p90_days"] == pytest.approx(durations[1] + 0.8 * (10 - durations[1]),
                                              rel=1e-6)
    assert rows["household"]["count"] == 1  # the cancelled one is not "closed"
    assert rows["household"]["median_days"] == pytest.approx(1 / 24, rel=1e-6)
