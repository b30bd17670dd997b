from django.db import models
from django.utils.translation import gettext_lazy as _

CURRENCY = "EUR"

# Staff groups (names agreed with identity; kept here so payments does not import identity's
# constants for two strings).
SUPERVISOR_GROUP = "Case supervisor"
COUNTER_AGENT_GROUP = "Counter agent"


class PaymentState(models.TextChoices):
    PENDING = "pending", _("pending")
    SUCCEEDED = "succeeded", _("paid")
    FAILED = "failed", _("failed")
    CANCELLED = "cancelled", _("cancelled")
    REFUNDED = "refunded", _("refunded")
    PARTIALLY_REFUNDED = "partially_refunded", _("partially refunded")


# A payment in one of these states has settled the fee (money was received).
SETTLED_STATES = {PaymentState.SUCCEEDED, PaymentState.REFUNDED, PaymentState.PARTIALLY_REFUNDED}
REFUNDABLE_STATES = {PaymentState.SUCCEEDED, PaymentState.PARTIALLY_REFUNDED}
FINAL_STATES = {PaymentState.FAILED, PaymentState.CANCELLED, *SETTLED_STATES}


class ProviderState(models.TextChoices):
    """What a provider says about a payment, mapped from its own vocabulary."""

    PENDING = "pending", _("pending")
    SUCCEEDED = "succeeded", _("succeeded")
    FAILED = "failed", _("failed")
    CANCELLED = "cancelled", _("cancelled")


class EventKind(models.TextChoices):
    CREATED = "created", _("payment started")
    PROVIDER_EVENT = "provider_event", _("provider notification")
    RETURN = "return", _("citizen returned from payment")
    RECONCILED = "reconciled", _("checked with the provider")
    SUCCEEDED = "succeeded", _("payment received")
    FAILED = "failed", _("payment failed")
    CANCELLED = "cancelled", _("payment cancelled")
    REFUNDED = "refunded", _("refund")
    COUNTER = "counter", _("recorded at the counter")


class SettleSource(models.TextChoices):
    """Who told us the provider state: the three paths race, the first one wins."""

    WEBHOOK = "webhook", _("webhook")
    RETURN = "return", _("return page")
    RECONCILIATION = "reconciliation", _("reconciliation")
    COUNTER = "counter", _("counter")
    FREE = "free", _("no fee")
