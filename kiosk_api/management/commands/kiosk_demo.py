"""Demo terminals for `make run`: the city's terminals in its branches (e-counter plan), a
working credential for one of them, and a demo eID card so the terminal API can be tried
from its documentation page or with curl. Idempotent."""

from __future__ import annotations

import json
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from django.conf import settings
from django.core.management.base import BaseCommand

from core.demo import load_logins, record_login
from kiosk_api import demo_pki, services
from kiosk_api.models import Terminal

# Fifteen terminals, as the e-counter plan lists them (seed 004).
TERMINALS = [
    ("centre-01", "administrative_centre", "Ground floor, hall A"),
    ("centre-02", "administrative_centre", "Ground floor, hall B"),
    ("centre-03", "administrative_centre", "First floor, population desk"),
    ("riches-claires-01", "library_riches_claires", "Public computer room"),
    ("double-click-01", "double_click", "Public computer room"),
    ("bravvo-01", "bravvo", "Public computer room"),
    ("work-centre-01", "work_centre", "Public computer room"),
    ("noh-01", "neder_over_heembeek", "Entrance"),
    ("noh-02", "neder_over_heembeek", "Waiting room"),
    ("louise-01", "louise", "Entrance"),
    ("louise-02", "louise", "Waiting room"),
    ("laeken-01", "laeken", "Entrance"),
    ("laeken-02", "laeken", "Waiting room"),
    ("laeken-modelwijk-01", "laeken_model_district", "Community centre"),
    ("haren-01", "haren", "Entrance"),
]
DEMO_TERMINAL = "centre-01"


def demo_dir() -> Path:
    return Path(settings.VAR_DIR) / "kiosk" / "demo-eid"


class Command(BaseCommand):
    help = "Create the demo terminals, a demo terminal credential and a demo eID card."

    def handle(self, *args, **options) -> None:
        for code, branch, location in TERMINALS:
            if not Terminal.objects.filter(code=code).exists():
                services.terminal_register(code=code, branch=branch, location=location,
                                           actor=None)
        username = f"terminal:{DEMO_TERMINAL}"
        known = load_logins().get(username, {}).get("password", "")
        terminal = Terminal.objects.get(code=DEMO_TERMINAL)
        if not (known.startswith("Terminal ") and services.terminal_authenticate(
                key_id=known.split()[1].split(":")[0], secret=known.split(":", 1)[1])):
            known = services.terminal_credential_issue(terminal=terminal,
                                                       actor=None).authorization
        card_note = self._demo_card()
        record_login(
            role="Self-service terminal (API client)", username=username, password=known,
            url="/api/kiosk/v1/docs/",
            note="Send the password as the Authorization header of every call. " + card_note)
        self.stdout.write(f"kiosk: {len(TERMINALS)} terminals; demo credential recorded for "
                          f"{DEMO_TERMINAL}")

    def _demo_card(self) -> str:
        from identity.models import User

        citizen = (User.objects.filter(person__isnull=False, person__number_kind="national")
                   .select_related("person").order_by("pk").first())
        if citizen is None:
            return "No demo citizen: run identity_demo first for the demo eID card."
        folder = demo_dir()
        card_file = folder / "card.json"
        if card_file.exists() and json.loads(card_file.read_text()).get(
                "national_number") == citizen.person.number:
            return self._card_note(citizen)
        folder.mkdir(parents=True, exist_ok=True)
        root = demo_pki.make_root("Guichet Demo Root CA (not trusted in production)")
        ca = demo_pki.make_sub_ca(root, "Guichet Demo Citizen CA")
        card = demo_pki.make_card(ca, national_number=citizen.person.number,
                                  given_name=citizen.person.first_names.split()[0],
                                  surname=citizen.person.last_name)
        (folder / "root.pem").write_bytes(root.pem)
        key_pem = card.key.private_bytes(serialization.Encoding.PEM,
                                         serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption()).decode()
        card_file.write_text(json.dumps({
            "national_number": citizen.person.number, "key": key_pem,
            "certificates": card.certificates()}))
        card_file.chmod(0o600)
        return self._card_note(citizen)

    def _card_note(self, citizen) -> str:
        return (f"Demo eID card of {citizen.person.full_name} (its test authority "
                f"{demo_dir() / 'root.pem'} is trusted by `make run`): ask POST "
                "/api/kiosk/v1/sessions/nonce/, then `manage.py kiosk_card_answer --nonce <nonce>` "
                "prints the body for POST /api/kiosk/v1/sessions/eid/.")
