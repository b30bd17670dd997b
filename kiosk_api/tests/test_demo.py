"""The demo command: terminals, a working recorded credential, a demo card that opens a
session when its root is trusted; idempotent."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from core.demo import load_logins
from kiosk_api.models import KioskSession, Terminal

pytestmark = pytest.mark.django_db


def test_kiosk_demo_creates_terminals_and_a_usable_credential_and_card(settings, tmp_path,
                                                                        citizen):
    settings.VAR_DIR = tmp_path
    call_command("kiosk_demo", stdout=StringIO())
    call_command("kiosk_demo", stdout=StringIO())  # idempotent
    assert Terminal.objects.count() == 15
    login = load_logins()["terminal:centre-01"]
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=login["password"])
    assert client.get("/api/kiosk/v1/terminal/").json()["code"] == "centre-01"

    settings.KIOSK_EID_TRUST_ANCHORS = [str(tmp_path / "kiosk" / "demo-eid" / "root.pem")]
    nonce = client.post("/api/kiosk/v1/sessions/nonce/").json()["nonce"]
    out = StringIO()
    call_command("kiosk_card_answer", "--nonce", nonce, stdout=out)
    response = client.post("/api/kiosk/v1/sessions/eid/", json.loads(out.getvalue()),
                           format="json")
    assert response.status_code == 201, response.json()
    assert KioskSession.objects.get().user == citizen
