"""Payment providers behind one interface, chosen per payment.

Stripe takes online payments (web, mobile, kiosk); the counter agent records cash and card
payments taken at the desk; "free" settles a zero fee. Each provider registers itself in
`registry` (core.registry) and says whether its configuration is usable (`check_config`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.registry import BasePlugin, Registry
from payments.constants import ProviderState

if TYPE_CHECKING:
    from payments.models import Payment


@dataclass(frozen=True)
class ProviderStatus:
    """What the provider says about one payment right now."""

    state: ProviderState
    reference: str = ""
    charge_reference: str = ""
    amount_cents: int | None = None
    error_code: str = ""
    error_message: str = ""


@dataclass(frozen=True)
class StartResult:
    reference: str = ""
    client_secret: str = ""
    # Providers that settle at once (counter, free) say so here.
    settled: bool = False


class PaymentProvider(BasePlugin):
    # Channels on which the citizen (or the agent) may use this provider.
    channels: frozenset[str] = frozenset()
    # True when the provider reports asynchronously (webhooks, reconciliation).
    is_online: bool = False

    def start(self, *, payment: Payment) -> StartResult:
        raise NotImplementedError

    def fetch_status(self, *, payment: Payment) -> ProviderStatus:
        raise NotImplementedError

    def cancel(self, *, payment: Payment) -> None:
        """Stop a pending payment at the provider (best effort)."""

    def refund(self, *, payment: Payment, amount_cents: int, idempotency_key: str,
               metadata: dict[str, str]) -> str:
        """Give money back; returns the provider's refund reference."""
        raise NotImplementedError


registry: Registry[PaymentProvider] = Registry("payment providers")


def load_providers() -> None:
    """Import the built-in providers so they register themselves."""
    from payments.providers import counter, free, stripe  # noqa: F401
