"""Reads of the payments app."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import QuerySet, Sum

from core.errors import NotFound
from payments import stripe_api
from payments.constants import SETTLED_STATES, PaymentState
from payments.models import Payment, PaymentEvent, Refund
from payments.providers import registry

if TYPE_CHECKING:
    from crm.models import Case


def payments_of_case(case: Case) -> QuerySet[Payment]:
    return Payment.objects.filter(case=case).order_by("-attempt")


def payment_settled_of_case(case: Case) -> Payment | None:
    """The payment that paid the case's fee, if any (at most one, by constraint)."""
    return Payment.objects.filter(case=case, state__in=list(SETTLED_STATES)).first()


def payment_pending_of_case(case: Case) -> Payment | None:
    return Payment.objects.filter(case=case, state=PaymentState.PENDING).order_by(
        "-attempt").first()


def payment_latest_of_case(case: Case) -> Payment | None:
    return Payment.objects.filter(case=case).order_by("-attempt").first()


def payment_events(payment: Payment) -> QuerySet[PaymentEvent]:
    return payment.events.select_related("actor").order_by("at", "id")


def payment_get(*, pk: int) -> Payment:
    try:
        return Payment.objects.select_related("case", "case__procedure", "recorded_by").get(pk=pk)
    except (Payment.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


def case_for_payment_staff(*, reference: str) -> Case:
    """A case by reference for counter agents and supervisors handling its fee.

    Counter agents take money for any case, whatever queue it sits in, so this does not go
    through crm's queue-scoped visibility; callers check the payments permission first.
    """
    from crm.models import Case

    try:
        return Case.objects.select_related("procedure", "requester", "person").get(
            reference=reference)
    except Case.DoesNotExist:
        raise NotFound() from None


def refund_offered(case: Case) -> bool:
    """A cancelled or rejected case whose fee was paid offers its refund."""
    payment = payment_settled_of_case(case)
    return bool(payment and payment.refundable_cents > 0
                and case.state in ("cancelled", "rejected"))


# --- daily report ---------------------------------------------------------------------------


def _day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    tz = ZoneInfo(settings.TIME_ZONE)
    start = dt.datetime.combine(day, dt.time.min, tzinfo=tz)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    return start, end


@dataclass
class ReportRow:
    procedure_code: str
    procedure_name: str
    channel: str
    provider: str
    count: int = 0
    gross_cents: int = 0
    refunds_cents: int = 0

    @property
    def net_cents(self) -> int:
        return self.gross_cents - self.refunds_cents


@dataclass
class DailyReport:
    day: dt.date
    rows: list[ReportRow] = field(default_factory=list)
    # provider -> {"count", "gross_cents", "refunds_cents", "net_cents"}
    provider_totals: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def total_gross_cents(self) -> int:
        return sum(r.gross_cents for r in self.rows)

    @property
    def total_refunds_cents(self) -> int:
        return sum(r.refunds_cents for r in self.rows)

    @property
    def total_net_cents(self) -> int:
        return self.total_gross_cents - self.total_refunds_cents

    @property
    def total_count(self) -> int:
        return sum(r.count for r in self.rows)


def daily_report(*, day: dt.date) -> DailyReport:
    """Money received and refunded on one day (Brussels time), per procedure, channel and
    provider: payments count on the day they settled, refunds on the day they were made."""
    start, end = _day_bounds(day)
    rows: dict[tuple[str, str, str], ReportRow] = {}

    def row(payment: Any) -> ReportRow:
        procedure = payment.case.procedure
        key = (procedure.code, payment.channel, payment.provider)
        if key not in rows:
            rows[key] = ReportRow(procedure_code=procedure.code, procedure_name=procedure.name,
                                  channel=payment.channel, provider=payment.provider)
        return rows[key]

    paid = Payment.objects.filter(state__in=list(SETTLED_STATES), settled_at__gte=start,
                                  settled_at__lt=end, amount_cents__gt=0) \
        .select_related("case__procedure")
    for payment in paid:
        r = row(payment)
        r.count += 1
        r.gross_cents += payment.amount_cents
    for refund in Refund.objects.filter(created_at__gte=start, created_at__lt=end) \
            .select_related("payment__case__procedure"):
        row(refund.payment).refunds_cents += refund.amount_cents
    report = DailyReport(day=day, rows=sorted(
        rows.values(), key=lambda r: (r.procedure_code, r.channel, r.provider)))
    totals: dict[str, dict[str, int]] = defaultdict(
        lambda: {"count": 0, "gross_cents": 0, "refunds_cents": 0, "net_cents": 0})
    for r in report.rows:
        t = totals[r.provider]
        t["count"] += r.count
        t["gross_cents"] += r.gross_cents
        t["refunds_cents"] += r.refunds_cents
        t["net_cents"] += r.net_cents
    report.provider_totals = dict(totals)
    return report


def stripe_day_totals(*, day: dt.date) -> dict[str, int]:
    """Stripe's own figures for the day (its balance transactions): what the report must add
    up to for the "stripe" provider."""
    start, end = _day_bounds(day)
    charges = refunds = count = 0
    for line in stripe_api.balance_lines(created_gte=int(start.timestamp()),
                                         created_lt=int(end.timestamp())):
        if line.type == "charge":
            charges += line.amount
            count += 1
        elif line.type == "refund":
            refunds += -line.amount
    return {"count": count, "gross_cents": charges, "refunds_cents": refunds,
            "net_cents": charges - refunds}


def refunds_total(payment: Payment) -> int:
    return payment.refunds.aggregate(total=Sum("amount_cents"))["total"] or 0


def provider_choices(*, channel: str) -> list[tuple[str, str]]:
    return [(p.identifier, str(p.verbose_name)) for p in registry if channel in p.channels]
