"""Stripe's webhook: machine to machine, no session, no CSRF token (the signature is the
authentication)."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from core.logging import get_logger
from payments import services, stripe_api

log = get_logger(__name__)

MAX_BODY = 512 * 1024


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> JsonResponse:
    if len(request.body) > MAX_BODY:
        return JsonResponse({"error": "too_large"}, status=413)
    try:
        event = stripe_api.verify_webhook(payload=request.body,
                                          signature_header=request.headers.get("Stripe-Signature"))
    except stripe_api.InvalidWebhook as exc:
        log.warning("payment.webhook.refused", error=str(exc))
        return JsonResponse({"error": "invalid_signature"}, status=400)
    outcome = services.payment_handle_webhook(event=event)
    return JsonResponse({"received": True, "outcome": outcome})
