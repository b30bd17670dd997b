"""The citizen's payment pages: pay a case's fee on our own page with Stripe.js, then the
return page. Thin: each view finds the case the user may see, calls one service, renders."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_ratelimit.core import is_ratelimited

from core.errors import DomainError, NotFound
from core.logging import get_logger
from crm.selectors import case_get_for_user
from payments import selectors, services
from payments.constants import PaymentState

log = get_logger(__name__)

STRIPE_LOCALES = {"fr": "fr", "nl": "nl", "de": "de", "en": "en"}


def _case_for_payer(request: HttpRequest, reference: str) -> Any:
    case = case_get_for_user(user=request.user, reference=reference)
    if not services.can_pay(request.user, case):
        # Staff may see the case in the back office but pay only at the counter.
        raise NotFound()
    return case


def _confirm_rate(group: str, request: HttpRequest) -> str:
    return settings.PAYMENTS_CONFIRM_RATE


def _not_found(request: HttpRequest) -> HttpResponse:
    return render(request, "payments/not_found.html", status=404)


@login_required
@require_GET
def pay(request: HttpRequest, reference: str) -> HttpResponse:
    try:
        case = _case_for_payer(request, reference)
    except NotFound:
        return _not_found(request)
    if selectors.payment_settled_of_case(case) is not None:
        return redirect("payments:return", reference=case.reference)
    context: dict[str, Any] = {"case": case, "payment": None, "error": ""}
    if case.state != "awaiting_payment":
        context["error"] = _("This request is not waiting for a payment.")
        return render(request, "payments/pay.html", context, status=409)
    try:
        context["payment"] = services.payment_start(case=case, provider="stripe")
    except DomainError as exc:
        context["error"] = str(exc.message)
        return render(request, "payments/pay.html", context, status=exc.status)
    context.update({
        "stripe_js_url": settings.STRIPE_JS_URL,
        "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
        "stripe_locale": STRIPE_LOCALES.get((get_language() or "fr")[:2], "auto"),
        "previous_failure": selectors.payments_of_case(case).filter(
            state=PaymentState.FAILED).exists(),
    })
    response = render(request, "payments/pay.html", context)
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def confirm(request: HttpRequest, reference: str) -> JsonResponse:
    """The card element's token, posted by pay.js. Answers where to go next.

    Card attempts are limited per account: trying many stolen cards on a cheap fee is a
    classic abuse of payment pages ("card testing")."""
    if is_ratelimited(request, group="payments.confirm", key="user", rate=_confirm_rate,
                      increment=True):
        log.warning("payment.confirm.rate_limited", user=request.user.pk)
        return JsonResponse({"message": _("Too many payment attempts. Please wait an hour "
                                          "or pay at a city counter.")}, status=429)
    try:
        case = _case_for_payer(request, reference)
    except NotFound:
        return JsonResponse({"message": _("This request was not found.")}, status=404)
    pay_url = reverse("payments:pay", args=[case.reference])
    payment = selectors.payment_pending_of_case(case)
    if payment is None:
        messages.error(request, _("This payment can no longer be made. Please try again."))
        return JsonResponse({"redirect": pay_url}, status=409)
    try:
        services.payment_confirm_card(payment=payment, token=request.POST.get("token", ""),
                                      user=request.user)
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return JsonResponse({"redirect": pay_url, "message": str(exc.message)},
                            status=exc.status)
    return JsonResponse({"redirect": reverse("payments:return", args=[case.reference])})


@login_required
@require_GET
def payment_return(request: HttpRequest, reference: str) -> HttpResponse:
    """Where the citizen lands after paying (our card form, or Stripe's redirect after
    Bancontact). It asks Stripe for the state: this races with the webhook, harmlessly."""
    try:
        case = _case_for_payer(request, reference)
    except NotFound:
        return _not_found(request)
    payment = selectors.payment_settled_of_case(case) or selectors.payment_latest_of_case(case)
    if payment is not None and payment.state == PaymentState.PENDING:
        payment = services.payment_sync(payment=payment, source="return")
    case.refresh_from_db()
    response = render(request, "payments/return.html", {
        "case": case, "payment": payment,
        "paid": payment is not None and payment.state != PaymentState.PENDING
        and payment.settled_at is not None,
    })
    response["Cache-Control"] = "no-store"
    return response
