from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

from catalogue.constants import Channel
from payments.constants import ProviderState
from payments.providers import PaymentProvider, ProviderStatus, StartResult, registry

if TYPE_CHECKING:
    from payments.models import Payment


@registry.register("free")
class FreeProvider(PaymentProvider):
    """A zero fee: settled at once, so every channel follows the same path."""

    verbose_name = _("No fee")
    channels = frozenset(Channel.values)

    def start(self, *, payment: Payment) -> StartResult:
        return StartResult(reference=f"free-{payment.pk}", settled=True)

    def fetch_status(self, *, payment: Payment) -> ProviderStatus:
        return ProviderStatus(state=ProviderState.SUCCEEDED, reference=payment.provider_reference,
                              amount_cents=0)

    def refund(self, *, payment: Payment, amount_cents: int, idempotency_key: str,
               metadata: dict[str, str]) -> str:
        raise NotImplementedError("nothing to refund on a free payment")
