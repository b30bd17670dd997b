"""Payments taken at the counter: the agent takes the cash or the card terminal's ticket and
records it; nothing is asked of an external system, the agent's record is the settlement."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

from catalogue.constants import Channel
from payments.constants import ProviderState
from payments.providers import PaymentProvider, ProviderStatus, StartResult, registry

if TYPE_CHECKING:
    from payments.models import Payment


class CounterProvider(PaymentProvider):
    channels = frozenset({Channel.COUNTER})

    def start(self, *, payment: Payment) -> StartResult:
        return StartResult(reference=f"counter-{payment.pk}", settled=True)

    def fetch_status(self, *, payment: Payment) -> ProviderStatus:
        return ProviderStatus(state=ProviderState.SUCCEEDED, reference=payment.provider_reference,
                              amount_cents=payment.amount_cents)

    def refund(self, *, payment: Payment, amount_cents: int, idempotency_key: str,
               metadata: dict[str, str]) -> str:
        # Cash back or a card-terminal refund at the desk; the refund row is the record.
        return f"counter-refund-{idempotency_key}"


@registry.register("counter_cash")
class CounterCashProvider(CounterProvider):
    verbose_name = _("Cash at the counter")


@registry.register("counter_card")
class CounterCardProvider(CounterProvider):
    verbose_name = _("Card at the counter")
