"""Back-office payment screens in the Wagtail admin (/admin/payments/...).

The case page (crm) links here: the payments of a case with its ledger, the refund form for
supervisors, the counter payment form for counter agents, the printable receipt, and the daily
report with its CSV export. Thin views: parse, call one service, render.
"""

from __future__ import annotations

import csv
import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from core.errors import DomainError, NotFound, ValidationFailed
from payments import selectors, services
from payments.forms import CounterPaymentForm, RefundForm, ReportDayForm
from payments.models import Payment
from payments.providers import registry
from payments.providers.stripe import STRIPE_PROVIDERS


def _case(reference: str) -> Any:
    try:
        return selectors.case_for_payment_staff(reference=reference.strip().upper())
    except NotFound:
        raise Http404 from None


def _payment(pk: int) -> Payment:
    try:
        return selectors.payment_get(pk=pk)
    except NotFound:
        raise Http404 from None


def _apply_errors(form: Any, exc: DomainError) -> None:
    details = exc.details if isinstance(exc, ValidationFailed) else {}
    placed = False
    for field, errors in details.items():
        for error in errors:
            form.add_error(field if field in form.fields else None, error)
            placed = True
    if not placed:
        form.add_error(None, str(exc.message))


def _may_see_case_payments(user: Any, case: Any) -> bool:
    from crm.selectors import roles_on_case

    return (services.can_record_counter(user) or services.can_refund(user, case)
            or bool(roles_on_case(user, case)) or services.can_view_report(user))


def case_payments(request: HttpRequest, reference: str) -> HttpResponse:
    case = _case(reference)
    if not _may_see_case_payments(request.user, case):
        raise PermissionDenied
    payments = list(selectors.payments_of_case(case).select_related("recorded_by"))
    can_refund = services.can_refund(request.user, case)
    return render(request, "payments/admin/case_payments.html", {
        "page_title": _("Payments of %(reference)s") % {"reference": case.reference},
        "header_icon": "doc-full",
        "case": case,
        "rows": [(p, list(selectors.payment_events(p))) for p in payments],
        "can_refund": can_refund,
        "refund_offered": selectors.refund_offered(case),
        "can_record_counter": services.can_record_counter(request.user)
        and case.state == "awaiting_payment",
        "counter_fee": case.procedure.fee_for("counter"),
    })


@require_http_methods(["GET", "POST"])
def refund(request: HttpRequest, payment_id: int) -> HttpResponse:
    payment = _payment(payment_id)
    if not services.can_refund(request.user, payment.case):
        raise PermissionDenied
    initial = {"amount": f"{payment.refundable_cents / 100:.2f}"}
    form = RefundForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.payment_refund(payment=payment, amount_cents=form.cleaned_data["amount"],
                                    reason=form.cleaned_data["reason"], actor=request.user)
        except DomainError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("The refund was made."))
            return redirect("payments_admin:case_payments", reference=payment.case.reference)
    return render(request, "payments/admin/refund.html", {
        "page_title": _("Refund a payment"), "header_icon": "undo",
        "payment": payment, "case": payment.case, "form": form,
    }, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
def counter_payment(request: HttpRequest, reference: str) -> HttpResponse:
    case = _case(reference)
    if not services.can_record_counter(request.user):
        raise PermissionDenied
    form = CounterPaymentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            payment = services.payment_record_counter(
                case=case, provider=form.cleaned_data["provider"],
                amount_cents=form.cleaned_data["amount"], agent=request.user)
        except DomainError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("The payment was recorded."))
            return redirect("payments_admin:receipt", payment_id=payment.pk)
    return render(request, "payments/admin/counter.html", {
        "page_title": _("Payment at the counter"), "header_icon": "doc-full",
        "case": case, "form": form, "fee": case.procedure.fee_for("counter"),
        "awaiting": case.state == "awaiting_payment",
    }, status=400 if form.errors else 200)


def receipt(request: HttpRequest, payment_id: int) -> HttpResponse:
    payment = _payment(payment_id)
    if not (services.can_record_counter(request.user)
            or services.can_refund(request.user, payment.case)):
        raise PermissionDenied
    if not payment.receipt_number:
        raise Http404
    return render(request, "payments/admin/receipt.html", {
        "page_title": _("Receipt %(number)s") % {"number": payment.receipt_number},
        "header_icon": "doc-full", "payment": payment, "case": payment.case,
        "provider_name": registry[payment.provider].verbose_name,
    })


def _report_day(request: HttpRequest) -> tuple[ReportDayForm, dt.date]:
    form = ReportDayForm(request.GET or {"day": timezone.localdate().isoformat()})
    day = form.cleaned_data["day"] if form.is_valid() else timezone.localdate()
    return form, day


def report(request: HttpRequest) -> HttpResponse:
    if not services.can_view_report(request.user):
        raise PermissionDenied
    form, day = _report_day(request)
    data = selectors.daily_report(day=day)
    stripe_totals: dict[str, int] | None = None
    stripe_error = ""
    # Stripe's balance holds the online and the terminal card payments together.
    ours_at_stripe = {"count": 0, "gross_cents": 0, "refunds_cents": 0, "net_cents": 0}
    for provider in STRIPE_PROVIDERS:
        for key, value in data.provider_totals.get(provider, {}).items():
            ours_at_stripe[key] = ours_at_stripe.get(key, 0) + value
    if set(STRIPE_PROVIDERS) & set(data.provider_totals) or request.GET.get("check") == "1":
        try:
            stripe_totals = selectors.stripe_day_totals(day=day)
        except Exception:  # noqa: BLE001 - the report stays useful without Stripe's side
            stripe_error = _("Stripe's totals could not be fetched right now.")
    providers = {p.identifier: p.verbose_name for p in registry}
    return render(request, "payments/admin/report.html", {
        "page_title": _("Daily payments report"), "header_icon": "table",
        "form": form, "day": day, "report": data, "providers": providers,
        "provider_rows": [(providers.get(k, k), k, v) for k, v in
                          sorted(data.provider_totals.items())],
        "stripe_totals": stripe_totals, "stripe_error": stripe_error,
        "stripe_matches": stripe_totals is None or stripe_totals == ours_at_stripe,
        "csv_url": reverse("payments_admin:report_csv") + f"?day={day.isoformat()}",
    })


def report_csv(request: HttpRequest) -> HttpResponse:
    if not services.can_view_report(request.user):
        raise PermissionDenied
    _form, day = _report_day(request)
    data = selectors.daily_report(day=day)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="payments-{day.isoformat()}.csv"'
    response.write("\ufeff")  # so spreadsheet software reads UTF-8
    writer = csv.writer(response)
    writer.writerow(["day", "procedure", "procedure_name", "channel", "provider", "count",
                     "gross_eur", "refunds_eur", "net_eur"])

    def eur(cents: int) -> str:
        return f"{cents / 100:.2f}"

    def safe(text: str) -> str:
        # Spreadsheet formula injection: never start a cell with = + - @.
        return "'" + text if text[:1] in ("=", "+", "-", "@") else text

    for r in data.rows:
        writer.writerow([day.isoformat(), r.procedure_code, safe(r.procedure_name), r.channel,
                         r.provider, r.count, eur(r.gross_cents), eur(r.refunds_cents),
                         eur(r.net_cents)])
    writer.writerow([day.isoformat(), "TOTAL", "", "", "", data.total_count,
                     eur(data.total_gross_cents), eur(data.total_refunds_cents),
                     eur(data.total_net_cents)])
    return response
