"""Rate limits per terminal (not per IP: several terminals of a branch share one address),
counted in the shared cache so every web pod sees the same budget."""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


class TerminalRateThrottle(SimpleRateThrottle):
    scope = "kiosk_terminal"
    setting = "KIOSK_THROTTLE_RATE"

    def get_rate(self) -> str:
        return getattr(settings, self.setting)

    def get_cache_key(self, request, view) -> str | None:
        terminal = getattr(request, "auth", None)
        if terminal is None or not hasattr(terminal, "code"):
            return None
        return self.cache_format % {"scope": self.scope, "ident": terminal.code}

    def allow_request(self, request, view) -> bool:
        # The rate is read per request so a changed setting (and tests) take effect at once.
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)


class SessionOpenRateThrottle(TerminalRateThrottle):
    """A tighter budget for nonces and session openings: each costs a signature check."""

    scope = "kiosk_session_open"
    setting = "KIOSK_SESSION_OPEN_THROTTLE_RATE"
