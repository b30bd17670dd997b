"""System checks: the register adapter exists, and OIDC is either off or complete."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Warning, register
from django.core.exceptions import ImproperlyConfigured


@register()
def identity_configuration(app_configs, **kwargs):
    from identity.registers import get_adapter, registry

    messages = []
    try:
        adapter = get_adapter()
    except ImproperlyConfigured:
        messages.append(Error(
            f"IDENTITY_REGISTER_ADAPTER={settings.IDENTITY_REGISTER_ADAPTER!r} is not a "
            "registered register adapter.",
            hint=f"Choose one of: {', '.join(p.identifier for p in registry)}.",
            id="identity.E001"))
    else:
        messages.extend(adapter.check_config())
    oidc = {name: getattr(settings, name) for name in (
        "OIDC_RP_CLIENT_ID", "OIDC_RP_CLIENT_SECRET", "OIDC_OP_AUTHORIZATION_ENDPOINT",
        "OIDC_OP_TOKEN_ENDPOINT", "OIDC_OP_JWKS_ENDPOINT")}
    if any(oidc.values()) and not all(oidc.values()):
        missing = ", ".join(name for name, value in oidc.items() if not value)
        messages.append(Warning(
            "eID/itsme login (OpenID Connect) is partly configured and stays hidden.",
            hint=f"Set {missing}.", id="identity.W001"))
    return messages
