"""What a terminal's card reader would post: the demo eID card (written by kiosk_demo) signs a
nonce; prints the JSON body for POST /api/kiosk/v1/sessions/eid/. Development only."""

from __future__ import annotations

import base64
import binascii
import json

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from django.core.management.base import BaseCommand, CommandError

from kiosk_api.management.commands.kiosk_demo import demo_dir


class Command(BaseCommand):
    help = "Sign a session nonce with the demo eID card and print the session request body."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--nonce", required=True)

    def handle(self, *args, **options) -> None:
        card_file = demo_dir() / "card.json"
        if not card_file.exists():
            raise CommandError("No demo card: run `manage.py kiosk_demo` first.")
        card = json.loads(card_file.read_text())
        try:
            message = base64.b64decode(options["nonce"], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise CommandError("The nonce is not base64.") from exc
        key = serialization.load_pem_private_key(card["key"].encode(), password=None)
        signature = key.sign(message, padding.PKCS1v15(), hashes.SHA256())
        self.stdout.write(json.dumps({"nonce": options["nonce"],
                                      "signature": base64.b64encode(signature).decode(),
                                      "certificates": card["certificates"]}))
