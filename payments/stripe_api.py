"""The one module that talks to Stripe (the official `stripe` library).

Everything crossing this boundary is a plain dataclass, so the rest of Guichet never sees a
Stripe object and never imports `stripe`. Every call that creates something carries an
idempotency key derived from our own payment, so a retried request (ours, or the library's
automatic network retry) can never charge or refund twice.

In development and tests `STRIPE_API_BASE` points at localstripe on loopback; in production it
is Stripe's own API.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import stripe
from django.conf import settings

# Stripe PaymentIntent statuses, mapped to our provider vocabulary in providers/stripe.py.
INTENT_SUCCEEDED = "succeeded"
INTENT_CANCELED = "canceled"
INTENT_PROCESSING = "processing"
INTENT_REQUIRES_PAYMENT_METHOD = "requires_payment_method"
INTENT_REQUIRES_CAPTURE = "requires_capture"


class StripeUnavailable(Exception):
    """Stripe could not be reached or answered with a server error: try again later."""


class StripeRejected(Exception):
    """Stripe refused the request (bad parameters, a state that does not allow it)."""

    def __init__(self, message: str, *, code: str = "") -> None:
        super().__init__(message)
        self.code = code


class CardDeclined(Exception):
    def __init__(self, message: str, *, code: str = "card_declined") -> None:
        super().__init__(message)
        self.code = code


class InvalidWebhook(Exception):
    """Bad, missing or stale signature, or a body that is not a Stripe event."""


@dataclass(frozen=True)
class Intent:
    id: str
    status: str
    amount: int
    amount_received: int
    currency: str
    client_secret: str
    charge_id: str = ""
    error_code: str = ""
    error_message: str = ""
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RefundResult:
    id: str
    status: str
    amount: int


@dataclass(frozen=True)
class WebhookEvent:
    id: str
    type: str
    created: int
    object_id: str
    object: dict[str, Any]


@dataclass(frozen=True)
class BalanceLine:
    id: str
    type: str  # "charge" or "refund"
    amount: int  # refunds are negative
    created: int
    source: str


def _client() -> stripe.StripeClient:
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY,
        base_addresses={"api": settings.STRIPE_API_BASE},
        max_network_retries=2,
    )


def _call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except stripe.CardError as exc:
        raise CardDeclined(exc.user_message or str(exc), code=exc.code or "card_declined") from exc
    except (stripe.APIConnectionError, stripe.RateLimitError) as exc:
        raise StripeUnavailable(str(exc)) from exc
    except stripe.StripeError as exc:
        status = getattr(exc, "http_status", None) or 0
        if status >= 500:
            raise StripeUnavailable(str(exc)) from exc
        raise StripeRejected(exc.user_message or str(exc), code=getattr(exc, "code", "") or "") from exc


def _get(obj: Any, key: str, default: Any = None) -> Any:
    try:
        value = obj[key]
    except (KeyError, TypeError):
        return default
    return default if value is None else value


def _plain(obj: Any) -> Any:
    return obj.to_dict() if hasattr(obj, "to_dict") else obj


def _intent(obj: Any) -> Intent:
    obj = _plain(obj)
    charge = _get(obj, "latest_charge", "")
    if not isinstance(charge, str):
        charge = _get(charge, "id", "")
    error = _get(obj, "last_payment_error", {}) or {}
    metadata = _get(obj, "metadata", {}) or {}
    return Intent(
        id=obj["id"],
        status=_get(obj, "status", ""),
        amount=int(_get(obj, "amount", 0)),
        amount_received=int(_get(obj, "amount_received", 0)),
        currency=str(_get(obj, "currency", "")).upper(),
        client_secret=_get(obj, "client_secret", ""),
        charge_id=charge or "",
        error_code=_get(error, "code", ""),
        error_message=_get(error, "message", ""),
        metadata={str(k): str(v) for k, v in dict(metadata).items()},
    )


def create_intent(*, amount_cents: int, currency: str, metadata: dict[str, str],
                  idempotency_key: str, payment_method_types: list[str] | None = None,
                  capture_method: str | None = None) -> Intent:
    """A PaymentIntent; the payment method types default to the pay page's
    (STRIPE_PAYMENT_METHOD_TYPES); a card-present payment passes its own and "manual"."""
    params: dict[str, Any] = {
        "amount": amount_cents,
        "currency": currency.lower(),
        "metadata": metadata,
        "payment_method_types": list(payment_method_types
                                     or settings.STRIPE_PAYMENT_METHOD_TYPES),
    }
    if capture_method:
        params["capture_method"] = capture_method
    obj = _call(_client().v1.payment_intents.create, params=params,
                options={"idempotency_key": idempotency_key})
    return _intent(obj)


def retrieve_intent(intent_id: str) -> Intent:
    return _intent(_call(_client().v1.payment_intents.retrieve, intent_id))


def confirm_with_card_token(*, intent_id: str, token: str, idempotency_key: str) -> Intent:
    """Pay an intent with a card tokenised by Stripe.js' card element (`createToken`).

    The card is saved on a one-off customer, then the intent is confirmed with it. This is the
    path the card element takes (and the one localstripe's Stripe.js supports); the Payment
    Element of the real Stripe.js confirms on the client instead. A declined card raises
    CardDeclined.
    """
    client = _client()
    customer = _call(client.v1.customers.create,
                     params={"source": token, "metadata": {"payment_intent": intent_id}},
                     options={"idempotency_key": f"{idempotency_key}-customer-{token}"})
    customer = _plain(customer)
    card_id = _get(customer, "default_source", "")
    if not isinstance(card_id, str):
        card_id = _get(card_id, "id", "")
    if not card_id:
        sources = _get(customer, "sources", {}) or {}
        data = _get(sources, "data", []) or []
        card_id = _get(data[0], "id", "") if data else ""
    if not card_id:
        raise StripeRejected("The card could not be saved.")
    _call(client.v1.payment_intents.update, intent_id,
          params={"customer": customer["id"], "payment_method": card_id})
    obj = _call(client.v1.payment_intents.confirm, intent_id,
                options={"idempotency_key": f"{idempotency_key}-confirm-{token}"})
    return _intent(obj)


def capture_intent(*, intent_id: str, idempotency_key: str) -> Intent:
    """Take the money of an authorised intent (status requires_capture)."""
    return _intent(_call(_client().v1.payment_intents.capture, intent_id,
                         options={"idempotency_key": idempotency_key}))


def cancel_intent(*, intent_id: str) -> Intent:
    return _intent(_call(_client().v1.payment_intents.cancel, intent_id))


def create_terminal_connection_token(*, location: str = "") -> str:
    """The secret of a short-lived Stripe Terminal ConnectionToken, which the reader SDK on a
    self-service terminal needs to discover and connect its card reader; scoped to a Terminal
    Location (tml_...) when one is given. Creates nothing that can be charged: no idempotency
    key."""
    params: dict[str, Any] = {"location": location} if location else {}
    obj = _call(_client().v1.terminal.connection_tokens.create, params=params)
    return str(_get(_plain(obj), "secret", ""))


def create_refund(*, intent_id: str, amount_cents: int, metadata: dict[str, str],
                  idempotency_key: str) -> RefundResult:
    obj = _call(_client().v1.refunds.create,
                params={"payment_intent": intent_id, "amount": amount_cents,
                        "metadata": metadata},
                options={"idempotency_key": idempotency_key})
    return RefundResult(id=obj["id"], status=_get(obj, "status", ""),
                        amount=int(_get(obj, "amount", amount_cents)))


def balance_lines(*, created_gte: int, created_lt: int) -> Iterator[BalanceLine]:
    """Every balance transaction (charges and refunds) created in [created_gte, created_lt).

    Filtered here as well as in the query: localstripe ignores the `created` filter."""
    page = _call(_client().v1.balance_transactions.list, params={"limit": 100})
    for item in page.auto_paging_iter():
        obj = _plain(item)
        created = int(_get(obj, "created", 0))
        if created_gte <= created < created_lt:
            yield BalanceLine(id=obj["id"], type=_get(obj, "type", ""),
                              amount=int(_get(obj, "amount", 0)), created=created,
                              source=str(_get(obj, "source", "")))


def verify_webhook(*, payload: bytes, signature_header: str | None) -> WebhookEvent:
    """Check the Stripe-Signature header (HMAC-SHA256 with our endpoint secret, timestamp
    within the tolerance) and parse the event. Raises InvalidWebhook otherwise."""
    try:
        stripe.WebhookSignature.verify_header(
            payload, signature_header, settings.STRIPE_WEBHOOK_SECRET,
            tolerance=settings.STRIPE_WEBHOOK_TOLERANCE)
    except stripe.SignatureVerificationError as exc:
        raise InvalidWebhook(str(exc)) from exc
    try:
        body = json.loads(payload)
        obj = body["data"]["object"]
        return WebhookEvent(id=str(body["id"]), type=str(body["type"]),
                            created=int(body.get("created") or 0),
                            object_id=str(obj.get("id", "")), object=obj)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InvalidWebhook("not a Stripe event") from exc


def intent_from_event_object(obj: dict[str, Any]) -> Intent:
    return _intent(obj)


def sign_webhook_payload(*, payload: str, secret: str, timestamp: int | None = None) -> str:
    """A Stripe-Signature header for `payload` (the stripe library's own helper): used by the
    development tools and tests that post events localstripe does not send."""
    return stripe.WebhookSignature.generate_signature_header(payload, secret,
                                                             timestamp=timestamp)
