"""The service-level calendar: deadlines counted in working days of the administration.

A working day is Monday to Friday, except Belgian public holidays (the ten national ones of
the `holidays` library, country BE) and the extra closing days the city sets in
CRM_SLA_EXTRA_CLOSED_DAYS (MM-DD). The extra days are a setting, not hard-coded, because they
are a local decision: the Brussels-Capital Region's 8 May (Iris Day) and the 15 November
(King's Feast, a holiday of federal administrations) are days off in many local
administrations but not by law, so each deployment lists its own.

A deadline of N working days is the end (23:59:59, Brussels time) of the Nth working day after
the day of submission; 0 means the end of the first working day from submission.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
from django.conf import settings
from django.utils import timezone

TZ = ZoneInfo("Europe/Brussels")
END_OF_DAY = dt.time(23, 59, 59)


@lru_cache(maxsize=64)
def _national_holidays(year: int) -> frozenset[dt.date]:
    return frozenset(holidays.country_holidays("BE", years=year).keys())


def _extra_closed_days() -> frozenset[str]:
    return frozenset(getattr(settings, "CRM_SLA_EXTRA_CLOSED_DAYS", ()))


def is_working_day(day: dt.date) -> bool:
    return _is_working_day(day, _extra_closed_days())


def _is_working_day(day: dt.date, extra_closed: frozenset[str]) -> bool:
    if day.weekday() >= 5:
        return False
    if day in _national_holidays(day.year):
        return False
    return day.strftime("%m-%d") not in extra_closed


def next_working_day(day: dt.date) -> dt.date:
    """`day` itself when it is a working day, else the first working day after it."""
    return _next_working_day(day, _extra_closed_days())


def _next_working_day(day: dt.date, extra_closed: frozenset[str]) -> dt.date:
    while not _is_working_day(day, extra_closed):
        day += dt.timedelta(days=1)
    return day


def add_working_days(day: dt.date, days: int) -> dt.date:
    """The date `days` working days after `day` (0: the first working day from `day`)."""
    if days < 0:
        raise ValueError("days must be >= 0")
    return _add_working_days(day, days, _extra_closed_days())


# Every submit asks for the deadline of its procedure's SLA from today: remembered per day,
# length and closing days (the key holds the setting, so a changed setting is obeyed).
@lru_cache(maxsize=1024)
def _add_working_days(day: dt.date, days: int, extra_closed: frozenset[str]) -> dt.date:
    current = day
    added = 0
    while added < days:
        current += dt.timedelta(days=1)
        if _is_working_day(current, extra_closed):
            added += 1
    return _next_working_day(current, extra_closed)


def due_at(start: dt.datetime, working_days: int) -> dt.datetime:
    """The deadline of a case started at `start` with an SLA of `working_days`."""
    local_day = timezone.localtime(start, TZ).date()
    day = add_working_days(local_day, working_days)
    return dt.datetime.combine(day, END_OF_DAY, tzinfo=TZ)


def near_cutoff(now: dt.datetime | None = None) -> dt.datetime:
    """Cases due before this moment are "due soon": within CRM_SLA_NEAR_WORKING_DAYS."""
    now = now or timezone.now()
    return due_at(now, int(getattr(settings, "CRM_SLA_NEAR_WORKING_DAYS", 1)))


def working_days_between(start: dt.date, end: dt.date) -> int:
    """Working days after `start` up to and including `end` (0 when end <= start)."""
    count = 0
    current = start
    while current < end:
        current += dt.timedelta(days=1)
        if is_working_day(current):
            count += 1
    return count


def pause_working_days(paused_at: dt.datetime, resumed_at: dt.datetime) -> int:
    """The working days a pause of the SLA clock cost: the working days after the day it
    started up to and including the day it ended (Brussels time). A pause within one day
    costs nothing; one from Friday to Monday costs the Monday; a holiday costs nothing."""
    start = timezone.localtime(paused_at, TZ).date()
    end = timezone.localtime(resumed_at, TZ).date()
    return working_days_between(start, end)


def extend_for_pause(due: dt.datetime, paused_at: dt.datetime,
                     resumed_at: dt.datetime) -> tuple[dt.datetime, int]:
    """The deadline once the time spent waiting for the citizen is taken out of it: moved
    by the working days of the pause (see pause_working_days), and that number."""
    days = pause_working_days(paused_at, resumed_at)
    if days <= 0:
        return due, 0
    day = add_working_days(timezone.localtime(due, TZ).date(), days)
    return dt.datetime.combine(day, END_OF_DAY, tzinfo=TZ), days


def status_at(due: dt.datetime | None, now: dt.datetime) -> str:
    """The SLA status a deadline has at `now`: "" (on time), "near" or "overdue"."""
    if due is None:
        return ""
    if due < now:
        return "overdue"
    return "near" if due <= near_cutoff(now) else ""
