"""Register adapters: the national register and the BIS register behind one interface.

The deployment picks one adapter with IDENTITY_REGISTER_ADAPTER. The default, "local",
keeps the register in this database (seeded with synthetic people by `identity_demo`); an
adapter for the federal services (the national register through the Crossroads Bank) would
register itself here the same way and speak to them over their web services.
"""

from __future__ import annotations

from django.conf import settings

from identity.registers.base import BisRegistration, RegisterAdapter, registry


def get_adapter() -> RegisterAdapter:
    # importing the module registers the bundled adapters
    from identity.registers import local  # noqa: F401

    return registry[settings.IDENTITY_REGISTER_ADAPTER]


__all__ = ["BisRegistration", "RegisterAdapter", "get_adapter", "registry"]
