from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from catalogue.constants import Channel
from payments.constants import CURRENCY, EventKind, PaymentState, SettleSource


class Payment(models.Model):
    """One attempt at paying the fee of one case.

    A declined card ends an attempt (failed); the citizen may start a new one. At most one
    attempt per case ever settles (a database constraint, not only a check in code), so a fee is
    never counted twice whatever the order in which webhooks, the return page and
    reconciliation arrive.
    """

    case = models.ForeignKey("crm.Case", on_delete=models.PROTECT, related_name="payments",
                             verbose_name=_("case"))
    attempt = models.PositiveSmallIntegerField(_("attempt"), default=1)
    amount_cents = models.PositiveIntegerField(_("amount (cents)"))
    currency = models.CharField(_("currency"), max_length=3, default=CURRENCY)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    provider = models.CharField(_("provider"), max_length=32)
    state = models.CharField(_("state"), max_length=24, choices=PaymentState.choices,
                             default=PaymentState.PENDING)
    provider_reference = models.CharField(_("provider reference"), max_length=255, blank=True,
                                          db_index=True)
    provider_charge_reference = models.CharField(_("provider charge"), max_length=255,
                                                 blank=True)
    client_secret = models.CharField(max_length=255, blank=True, editable=False)
    idempotency_key = models.CharField(_("idempotency key"), max_length=120, unique=True)
    refunded_cents = models.PositiveIntegerField(_("refunded (cents)"), default=0)
    failure_code = models.CharField(_("failure code"), max_length=64, blank=True)
    failure_message = models.CharField(_("failure message"), max_length=255, blank=True)
    settled_by = models.CharField(_("settled by"), max_length=16, choices=SettleSource.choices,
                                  blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("recorded by"))
    receipt_number = models.CharField(_("receipt number"), max_length=32, unique=True,
                                      null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    settled_at = models.DateTimeField(_("paid at"), null=True, blank=True, db_index=True)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["case", "attempt"], name="payment_case_attempt"),
            models.UniqueConstraint(
                fields=["case"], name="payment_one_settled_per_case",
                condition=Q(state__in=["succeeded", "refunded", "partially_refunded"])),
            models.CheckConstraint(condition=Q(refunded_cents__lte=models.F("amount_cents")),
                                   name="payment_refund_not_above_amount"),
        ]
        permissions = [
            ("refund_payment", _("Can refund a payment")),
            ("record_counter_payment", _("Can record a payment at the counter")),
            ("view_payment_report", _("Can see the daily payments report")),
        ]

    def __str__(self) -> str:
        return f"{self.case_id}#{self.attempt} {self.amount_cents / 100:.2f} {self.currency}"

    @property
    def amount(self) -> str:
        return f"{self.amount_cents / 100:.2f}"

    @property
    def refundable_cents(self) -> int:
        if self.state not in (PaymentState.SUCCEEDED, PaymentState.PARTIALLY_REFUNDED):
            return 0
        return self.amount_cents - self.refunded_cents


class PaymentEvent(models.Model):
    """The ledger of a payment: every notification, state change and refund, append-only.

    A provider event id is unique, so the same Stripe event delivered three times is
    recorded once.
    """

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(_("kind"), max_length=24, choices=EventKind.choices)
    at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)
    provider_event_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    provider_event_type = models.CharField(max_length=100, blank=True)
    source = models.CharField(max_length=16, choices=SettleSource.choices, blank=True)
    from_state = models.CharField(max_length=24, blank=True)
    to_state = models.CharField(max_length=24, blank=True)
    amount_cents = models.IntegerField(null=True, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+")
    note = models.TextField(blank=True)

    class Meta:
        verbose_name = _("payment event")
        verbose_name_plural = _("payment events")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.payment_id} {self.kind} {self.from_state}->{self.to_state}"


class Refund(models.Model):
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount_cents = models.PositiveIntegerField(_("amount (cents)"))
    reason = models.TextField(_("reason"))
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                              related_name="+", verbose_name=_("refunded by"))
    provider_reference = models.CharField(max_length=255, blank=True)
    idempotency_key = models.CharField(max_length=120, unique=True)
    created_at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.payment_id} -{self.amount_cents / 100:.2f}"
