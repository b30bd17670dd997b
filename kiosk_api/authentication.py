"""DRF authentication of self-service terminals: `Authorization: Terminal <key_id>:<secret>`.

The verified credential is read from the shared cache (services.terminal_authenticate);
disabling a terminal or replacing its credential deletes that entry in the same service, so
the back office refuses the terminal's very next request.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from kiosk_api import services
from kiosk_api.models import Terminal

KEYWORD = "Terminal"


class TerminalPrincipal:
    """`request.user` of a terminal call: authenticated, but no person and no staff rights."""

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_superuser = False
    is_active = True
    pk = None
    id = None

    def __init__(self, terminal: Terminal) -> None:
        self.terminal = terminal

    def __str__(self) -> str:
        return f"terminal {self.terminal.code}"

    def has_perm(self, perm: str, obj: object = None) -> bool:
        return False


class TerminalCredentialsInvalid(exceptions.AuthenticationFailed):
    default_code = "terminal_credentials_invalid"
    default_detail = _("Unknown or revoked terminal credentials.")


class TerminalDisabled(exceptions.PermissionDenied):
    default_code = "terminal_disabled"
    default_detail = _("This terminal has been disabled by the administration.")


def terminal_credentials(request) -> tuple[str, str] | None:
    """(key_id, secret) of a `Terminal` Authorization header; None without one. A malformed
    Terminal header raises TerminalCredentialsInvalid."""
    header = get_authorization_header(request).split()
    if not header or header[0].lower() != KEYWORD.lower().encode():
        return None
    if len(header) != 2:
        raise TerminalCredentialsInvalid()
    try:
        key_id, _sep, secret = header[1].decode("ascii").partition(":")
    except UnicodeDecodeError:
        raise TerminalCredentialsInvalid() from None
    if not key_id or not secret or len(key_id) > 32 or len(secret) > 128:
        raise TerminalCredentialsInvalid()
    return key_id, secret


class TerminalAuthentication(BaseAuthentication):
    def authenticate(self, request):
        credentials = terminal_credentials(request)
        if credentials is None:
            return None
        key_id, secret = credentials
        terminal = services.terminal_authenticate(key_id=key_id, secret=secret)
        if terminal is None:
            raise TerminalCredentialsInvalid()
        if not terminal.is_active:
            raise TerminalDisabled()
        return TerminalPrincipal(terminal), terminal

    def authenticate_header(self, request) -> str:
        return f'{KEYWORD} realm="kiosk"'


class TerminalAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "kiosk_api.authentication.TerminalAuthentication"
    name = "terminal"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Terminal <key_id>:<secret>`: the credential shown once to the "
                           "administrator who registered the terminal.",
        }
