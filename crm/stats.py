"""Statistics of requests: the follow-up indicators of the city's e-counter plan.

- number of requests per procedure, per channel, per month;
- share of requests made online (web portal, mobile app and self-service terminals, i.e.
  the "e-counter") against the physical counter, per category of procedure;
- time to close: how long a completed request took, per procedure.

All are aggregated in the database (GROUP BY on indexed columns), in Brussels time, for a
period of whole days; `departments` restricts them to what a supervisor may see.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Aggregate, Avg, Count, DurationField, ExpressionWrapper, F, Q
from django.db.models import FloatField as _FloatField
from django.db.models.functions import TruncMonth

from catalogue.constants import Channel
from crm.models import Case
from crm.workflow import CaseState

TZ = ZoneInfo("Europe/Brussels")
ONLINE_CHANNELS = (Channel.WEB, Channel.MOBILE, Channel.KIOSK)
COMPLETED_STATES = (CaseState.CLOSED, CaseState.REJECTED)


def _bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start 00:00, the day after end 00:00) in Brussels time."""
    return (dt.datetime.combine(start, dt.time.min, tzinfo=TZ),
            dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=TZ))


def _cases(departments: Iterable[str] | None):
    qs = Case.objects.all()
    if departments is not None:
        qs = qs.filter(procedure__department__in=list(departments))
    return qs


def requests_per_month(*, start: dt.date, end: dt.date,
                       departments: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """[{month: date (first day), procedure: code, channel, count}] ordered by month."""
    low, high = _bounds(start, end)
    rows = (_cases(departments).filter(created_at__gte=low, created_at__lt=high)
            .annotate(month=TruncMonth("created_at", tzinfo=TZ))
            .values("month", "procedure__code", "channel")
            .annotate(count=Count("id"))
            .order_by("month", "procedure__code", "channel"))
    return [{"month": _as_date(r["month"]), "procedure": r["procedure__code"],
             "channel": r["channel"], "count": r["count"]} for r in rows]


def _as_date(value: Any) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def online_share(*, start: dt.date, end: dt.date, departments: Iterable[str] | None = None,
                 by: str = "procedure__category") -> list[dict[str, Any]]:
    """Per category (or `by`="procedure__code"): total, count per channel, online count and
    share (0..1) of requests made on the e-counter rather than at the physical counter."""
    low, high = _bounds(start, end)
    per_channel = {c.value: Count("id", filter=Q(channel=c.value)) for c in Channel}
    rows = (_cases(departments).filter(created_at__gte=low, created_at__lt=high)
            .values(by).annotate(total=Count("id"), **per_channel).order_by(by))
    result = []
    for row in rows:
        online = sum(row[c] for c in ONLINE_CHANNELS)
        result.append({"key": row[by], "total": row["total"],
                       "channels": {c.value: row[c.value] for c in Channel},
                       "online": online,
                       "share_online": online / row["total"] if row["total"] else 0.0})
    return result


class _Percentile(Aggregate):
    """PostgreSQL's percentile_cont(p) WITHIN GROUP (ORDER BY expr)."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = _FloatField()

    def __init__(self, expression: Any, fraction: float, **extra: Any) -> None:
        super().__init__(expression, fraction=float(fraction), **extra)


def time_to_close(*, start: dt.date, end: dt.date,
                  departments: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """Per procedure, requests completed (closed or rejected) in the period: count and
    average, median and 90th percentile of the days from submission to completion."""
    low, high = _bounds(start, end)
    qs = (_cases(departments)
          .filter(state__in=COMPLETED_STATES, closed_at__gte=low, closed_at__lt=high))
    duration = ExpressionWrapper(F("closed_at") - F("created_at"), output_field=DurationField())
    day = 86400.0
    if connection.vendor == "postgresql":
        from django.db.models.functions import Extract

        seconds = Extract(duration, "epoch")
        rows = (qs.values("procedure__code")
                .annotate(count=Count("id"), avg=Avg(seconds),
                          median=_Percentile(seconds, 0.5), p90=_Percentile(seconds, 0.9))
                .order_by("procedure__code"))
        return [{"procedure": r["procedure__code"], "count": r["count"],
                 "avg_days": float(r["avg"]) / day, "median_days": float(r["median"]) / day,
                 "p90_days": float(r["p90"]) / day} for r in rows]
    # other databases (SQLite in development): the same figures computed in Python
    per_procedure: dict[str, list[float]] = {}
    for code, created, closed in qs.values_list("procedure__code", "created_at", "closed_at"):
        per_procedure.setdefault(code, []).append((closed - created).total_seconds())
    result = []
    for code in sorted(per_procedure):
        values = sorted(per_procedure[code])
        result.append({"procedure": code, "count": len(values),
                       "avg_days": statistics.fmean(values) / day,
                       "median_days": statistics.median(values) / day,
                       "p90_days": _percentile(values, 0.9) / day})
    return result


def _percentile(values: list[float], fraction: float) -> float:
    """Linear interpolation between closest ranks, as PostgreSQL's percentile_cont."""
    if len(values) == 1:
        return values[0]
    position = (len(values) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (position - low)
