"""Terminal credentials, disabling, rate limits, heartbeat and status."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from kiosk_api import services
from kiosk_api.models import Terminal, TerminalCredential, TerminalEvent, TerminalHeartbeat

pytestmark = pytest.mark.django_db


def test_credential_is_stored_hashed_and_authenticates(kiosk):
    credential = TerminalCredential.objects.get(terminal=kiosk.terminal)
    secret = kiosk.authorization.split(":", 1)[1]
    assert secret not in credential.secret_sha256
    assert len(secret) >= 40  # 256 random bits
    response = kiosk.call("get", "terminal/")
    assert response.status_code == 200
    assert response.json()["code"] == "centre-01"


@pytest.mark.parametrize("header", [
    None, "Terminal", "Terminal nope", "Terminal kt0000:wrong", "Bearer abc", "Terminal a:b c",
])
def test_bad_or_missing_credentials_are_refused(kiosk, header):
    client = APIClient()
    kwargs = {"HTTP_AUTHORIZATION": header} if header else {}
    response = client.get("/api/kiosk/v1/terminal/", **kwargs)
    assert response.status_code == 401
    assert response.json()["code"] in {"not_authenticated", "terminal_credentials_invalid"}


def test_wrong_secret_for_a_real_key_is_refused(kiosk):
    key_id = kiosk.authorization.split()[1].split(":")[0]
    response = APIClient().get("/api/kiosk/v1/terminal/",
                               HTTP_AUTHORIZATION=f"Terminal {key_id}:{'x' * 43}")
    assert response.status_code == 401
    assert response.json()["code"] == "terminal_credentials_invalid"


def test_disabled_terminal_is_refused_at_once_and_its_sessions_end(kiosk, citizen, card):
    token = kiosk.open_session(card)
    services.terminal_disable(terminal=kiosk.terminal, actor=None, reason="stolen")
    response = kiosk.call("get", "procedures/")
    assert response.status_code == 403 and response.json()["code"] == "terminal_disabled"
    services.terminal_enable(terminal=kiosk.terminal, actor=None)
    response = kiosk.call("get", "session/", session=token)
    assert response.json()["code"] == "session_ended"
    assert TerminalEvent.objects.filter(kind="disabled").exists()


def test_new_credential_revokes_the_old_one(kiosk):
    issued = services.terminal_credential_issue(terminal=kiosk.terminal, actor=None)
    assert kiosk.call("get", "terminal/").status_code == 401
    kiosk.authorization = issued.authorization
    assert kiosk.call("get", "terminal/").status_code == 200


def test_rate_limit_is_per_terminal(kiosk, other_kiosk, settings):
    settings.KIOSK_THROTTLE_RATE = "3/min"
    for _ in range(3):
        assert kiosk.call("get", "terminal/").status_code == 200
    response = kiosk.call("get", "terminal/")
    assert response.status_code == 429 and response.json()["code"] == "throttled"
    assert other_kiosk.call("get", "terminal/").status_code == 200


def test_session_opening_has_its_own_tighter_budget(kiosk, settings):
    settings.KIOSK_SESSION_OPEN_THROTTLE_RATE = "2/min"
    assert kiosk.call("post", "sessions/nonce/").status_code == 201
    assert kiosk.call("post", "sessions/nonce/").status_code == 201
    assert kiosk.call("post", "sessions/nonce/").status_code == 429
    assert kiosk.call("get", "procedures/").status_code == 200


def test_heartbeat_records_devices_and_updates_the_terminal(kiosk):
    response = kiosk.call("post", "terminal/heartbeat/", data={
        "software_version": "2.4.1",
        "devices": {"printer": "ok", "paper": "low", "card_reader": "error",
                    "payment_terminal": "ok"}})
    assert response.status_code == 201, response.json()
    terminal = Terminal.objects.get(pk=kiosk.terminal.pk)
    assert terminal.software_version == "2.4.1"
    assert terminal.paper_level == "low" and terminal.card_reader_status == "error"
    assert terminal.last_heartbeat_at is not None
    assert TerminalHeartbeat.objects.filter(terminal=terminal).count() == 1


def test_heartbeat_with_unknown_status_is_a_400_naming_the_field(kiosk):
    response = kiosk.call("post", "terminal/heartbeat/", data={
        "devices": {"printer": "on fire"}})
    assert response.status_code == 400
    assert "devices.printer" in response.json()["errors"]
    assert TerminalHeartbeat.objects.count() == 0


def test_heartbeats_older_than_the_retention_are_dropped(kiosk):
    import datetime as dt

    from django.utils import timezone

    old = TerminalHeartbeat.objects.create(
        terminal=kiosk.terminal, received_at=timezone.now() - dt.timedelta(days=31),
        printer_status="ok", paper_level="ok", card_reader_status="ok",
        payment_terminal_status="ok")
    assert kiosk.call("post", "terminal/heartbeat/", data={"devices": {}}).status_code == 201
    assert not TerminalHeartbeat.objects.filter(pk=old.pk).exists()
    assert TerminalHeartbeat.objects.filter(terminal=kiosk.terminal).count() == 1
