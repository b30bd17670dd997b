"""Local stand-ins started by `make run`: each app that needs one (the fake Stripe server,
the development signing key) adds a starter to DEV_SERVICE_STARTERS."""

from __future__ import annotations

from collections.abc import Callable

from django.utils.module_loading import import_string

DEV_SERVICE_STARTERS: list[str] = [
    "signing.devkeys.ensure_dev_key",  # the local seal key when no real one is configured
    "payments.devstripe.start_localstripe",  # the Stripe-compatible server on loopback
    "crm.outbox.start_dev_relay",  # relays the outbox and watches SLAs (no Celery beat here)
]


def start_dev_services() -> None:
    for dotted in DEV_SERVICE_STARTERS:
        starter: Callable[[], None] = import_string(dotted)
        starter()
