from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning
from django.utils.translation import gettext_lazy as _

from catalogue.constants import Channel
from payments import stripe_api
from payments.constants import ProviderState
from payments.providers import PaymentProvider, ProviderStatus, StartResult, registry

if TYPE_CHECKING:
    from payments.models import Payment

AWAITING_PAYMENT = "awaiting_payment"  # crm's case state (payments.services says the same)
# Providers whose payments are Stripe PaymentIntents of our account: its webhooks and its
# balance (the daily report's check) cover them all.
STRIPE_PROVIDERS = ("stripe", "stripe_terminal")
LOCALSTRIPE_KEYS = {"sk_test_localstripe", "pk_test_localstripe", "whsec_localstripe"}

# PaymentIntent statuses -> our vocabulary. "requires_payment_method" after a confirmation
# means the card was declined; before one it means "not paid yet" (see fetch_status).
_STATES = {
    stripe_api.INTENT_SUCCEEDED: ProviderState.SUCCEEDED,
    stripe_api.INTENT_CANCELED: ProviderState.CANCELLED,
}


def status_of_intent(intent: stripe_api.Intent) -> ProviderStatus:
    state = _STATES.get(intent.status, ProviderState.PENDING)
    if intent.status == stripe_api.INTENT_REQUIRES_PAYMENT_METHOD and intent.error_code:
        state = ProviderState.FAILED
    return ProviderStatus(state=state, reference=intent.id, charge_reference=intent.charge_id,
                          amount_cents=intent.amount_received or intent.amount,
                          error_code=intent.error_code, error_message=intent.error_message)


@registry.register("stripe")
class StripeProvider(PaymentProvider):
    verbose_name = _("Online payment (card, Bancontact)")
    channels = frozenset({Channel.WEB, Channel.MOBILE, Channel.KIOSK})
    is_online = True

    def start(self, *, payment: Payment) -> StartResult:
        intent = stripe_api.create_intent(
            amount_cents=payment.amount_cents, currency=payment.currency,
            metadata={"case": payment.case.reference, "payment": str(payment.pk),
                      "attempt": str(payment.attempt)},
            idempotency_key=f"payment-{payment.pk}-intent")
        return StartResult(reference=intent.id, client_secret=intent.client_secret)

    def fetch_status(self, *, payment: Payment) -> ProviderStatus:
        return status_of_intent(stripe_api.retrieve_intent(payment.provider_reference))

    def cancel(self, *, payment: Payment) -> None:
        if payment.provider_reference:
            # Already succeeded or cancelled: the provider status tells which.
            with contextlib.suppress(stripe_api.StripeRejected):
                stripe_api.cancel_intent(intent_id=payment.provider_reference)

    def refund(self, *, payment: Payment, amount_cents: int, idempotency_key: str,
               metadata: dict[str, str]) -> str:
        result = stripe_api.create_refund(intent_id=payment.provider_reference,
                                          amount_cents=amount_cents, metadata=metadata,
                                          idempotency_key=idempotency_key)
        return result.id

    def check_config(self) -> list[CheckMessage]:
        messages: list[CheckMessage] = []
        if not settings.STRIPE_SECRET_KEY.startswith(("sk_", "rk_")):
            messages.append(Error("STRIPE_SECRET_KEY is not a Stripe secret key.",
                                  id="payments.E001"))
        if not settings.STRIPE_WEBHOOK_SECRET:
            messages.append(Error("STRIPE_WEBHOOK_SECRET is empty: webhooks cannot be verified.",
                                  id="payments.E002"))
        return messages


@registry.register("stripe_terminal")
class StripeTerminalProvider(StripeProvider):
    """The card reader of a self-service terminal (Stripe Terminal), for kiosk_api.

    Stripe Terminal takes PaymentIntents whose payment method types include "card_present";
    the reader (driven by the terminal software with the intent's client secret) reads the
    card and authorises it. The intent asks for manual capture, so the authorisation only
    holds the money: it is captured when the terminal polls the payment (or reconciliation
    asks), and only while the case still waits for its fee. A case cancelled while the
    citizen stood at the reader is not charged: reconciliation cancels the intent, which
    releases the hold (payments.services.payment_sync).

    localstripe (tests, development) accepts the parameters and manual capture but has no
    card_present payment method and no Terminal API: its tests play the reader's part by
    confirming the intent with a test card, which brings it to requires_capture as a reader
    would.
    """

    verbose_name = _("Card reader of a self-service terminal")
    channels = frozenset({Channel.KIOSK})
    payment_method_types = ("card_present",)
    capture_method = "manual"

    def start(self, *, payment: Payment) -> StartResult:
        intent = stripe_api.create_intent(
            amount_cents=payment.amount_cents, currency=payment.currency,
            metadata={"case": payment.case.reference, "payment": str(payment.pk),
                      "attempt": str(payment.attempt), "channel": Channel.KIOSK},
            idempotency_key=f"payment-{payment.pk}-intent",
            payment_method_types=list(self.payment_method_types),
            capture_method=self.capture_method)
        return StartResult(reference=intent.id, client_secret=intent.client_secret)

    def fetch_status(self, *, payment: Payment) -> ProviderStatus:
        intent = stripe_api.retrieve_intent(payment.provider_reference)
        if intent.status == stripe_api.INTENT_REQUIRES_CAPTURE \
                and intent.amount == payment.amount_cents:
            payment.case.refresh_from_db(fields=["state"])
            if payment.case.state == AWAITING_PAYMENT:
                intent = stripe_api.capture_intent(
                    intent_id=intent.id, idempotency_key=f"payment-{payment.pk}-capture")
        # Still authorised only (requires_capture): pending for us.
        return status_of_intent(intent)


def check_not_localstripe() -> list[CheckMessage]:
    """Deployment check (`manage.py check --deploy`): production must not run on the
    localstripe development defaults."""
    if ({settings.STRIPE_SECRET_KEY, settings.STRIPE_WEBHOOK_SECRET,
         settings.STRIPE_PUBLISHABLE_KEY} & LOCALSTRIPE_KEYS
            or not settings.STRIPE_API_BASE.startswith("https://")):
        return [Warning(
            "Stripe points at localstripe (development defaults).",
            hint="Set STRIPE_API_BASE=https://api.stripe.com, STRIPE_JS_URL, "
                 "STRIPE_SECRET_KEY, STRIPE_PUBLISHABLE_KEY and STRIPE_WEBHOOK_SECRET.",
            id="payments.W001")]
    return []
