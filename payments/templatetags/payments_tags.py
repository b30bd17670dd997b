from django import template

from payments.money import format_euros

register = template.Library()


@register.filter
def money(cents: object) -> str:
    """Cents as a euro amount in the active language: 1250 -> "12,50 €" in French."""
    try:
        return format_euros(int(cents))  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return ""


@register.filter
def payment_state(value: str) -> str:
    from payments.constants import PaymentState

    try:
        return str(PaymentState(value).label)
    except ValueError:
        return value or "—"


@register.filter
def provider_name(value: str) -> str:
    from payments.providers import registry

    return str(registry[value].verbose_name) if value in registry else value


@register.filter
def channel_name(value: str) -> str:
    from catalogue.constants import Channel

    try:
        return str(Channel(value).label)
    except ValueError:
        return value
