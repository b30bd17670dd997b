"""Demo content and accounts for `make run`.

Each app contributes a management command; `manage.py demo` runs them in order. Demo
passwords are generated per checkout and kept in var/demo-logins.json (never committed), so
no credential lives in the repository.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from django.conf import settings

# (app label, command): run in this order when the app provides it.
DEMO_COMMANDS = [
    ("catalogue", "load_catalogue"),
    ("identity", "identity_demo"),
    ("portal", "portal_demo"),
    ("crm", "crm_demo"),
    ("payments", "payments_demo"),
    ("signing", "signing_demo"),
    ("kiosk_api", "kiosk_demo"),
]


def _logins_file() -> Path:
    return Path(settings.VAR_DIR) / "demo-logins.json"


def load_logins() -> dict[str, dict[str, str]]:
    path = _logins_file()
    return json.loads(path.read_text()) if path.exists() else {}


def demo_password(username: str) -> str:
    """The demo password of `username`: generated once, then stable across runs."""
    logins = load_logins()
    if username in logins:
        return logins[username]["password"]
    return secrets.token_urlsafe(12)


def record_login(*, role: str, username: str, password: str, url: str, note: str = "") -> None:
    logins = load_logins()
    logins[username] = {"role": role, "password": password, "url": url, "note": note}
    path = _logins_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(logins, indent=2))
    path.chmod(0o600)
