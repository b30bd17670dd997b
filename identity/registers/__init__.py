"""Register adapters: the national register and the BIS register behind one interface.

The deployment picks one adapter with IDENTITY_REGISTER_ADAPTER. The only adapter shipped
is "local": the register kept in this database (seeded with synthetic people by
`identity_demo`). There is no adapter for the federal services (the national register
through the Crossroads Bank): they are not reachable from here, and none is pretended. One
would register itself in `registry` the same way and speak to them over their web services.
An unknown name stops the process at start-up (IdentityConfig.ready) with the list of
adapters that exist, instead of failing at the first search of an officer.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from identity.registers.base import BisRegistration, RegisterAdapter, registry

BUNDLED_ADAPTERS = ("identity.registers.local",)


def load_adapters() -> None:
    """Import the bundled adapters so that they register themselves."""
    from importlib import import_module

    for module in BUNDLED_ADAPTERS:
        import_module(module)


def get_adapter() -> RegisterAdapter:
    load_adapters()
    name = settings.IDENTITY_REGISTER_ADAPTER
    if name not in registry:
        raise ImproperlyConfigured(
            f"IDENTITY_REGISTER_ADAPTER={name!r} is not a register adapter of this "
            f"installation. Choose one of: {', '.join(p.identifier for p in registry)}.")
    return registry[name]


__all__ = ["BisRegistration", "RegisterAdapter", "get_adapter", "load_adapters", "registry"]
