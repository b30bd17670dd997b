"""A digital key (security code by e-mail) also opens a session on the terminal."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from identity.models import DigitalKey
from kiosk_api.models import KioskSession

pytestmark = pytest.mark.django_db


@pytest.fixture
def keyed_citizen(citizen):
    citizen.email = "marie@example.org"
    citizen.save()
    DigitalKey.objects.create(user=citizen, kind="email_otp", name="e-mail")
    return citizen


def _start(kiosk, email, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = kiosk.call("post", "sessions/digital-key/start/", data={"email": email})
    assert response.status_code == 202
    return response.json()["challenge"]


def _code() -> str:
    return re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)


def test_email_code_opens_a_low_assurance_session(kiosk, keyed_citizen,
                                                  django_capture_on_commit_callbacks):
    challenge = _start(kiosk, "marie@example.org", django_capture_on_commit_callbacks)
    response = kiosk.call("post", "sessions/digital-key/", data={
        "challenge": challenge, "code": _code()})
    assert response.status_code == 201, response.json()
    assert response.json()["assurance_level"] == 1
    session = KioskSession.objects.get()
    assert session.user == keyed_citizen and session.method == "digital_key"


def test_wrong_code_unknown_address_and_other_terminal_are_refused(
        kiosk, other_kiosk, keyed_citizen, django_capture_on_commit_callbacks):
    challenge = _start(kiosk, "marie@example.org", django_capture_on_commit_callbacks)
    code = _code()
    wrong = "000000" if code != "000000" else "111111"
    response = kiosk.call("post", "sessions/digital-key/", data={"challenge": challenge,
                                                                  "code": wrong})
    assert response.status_code == 403 and response.json()["code"] == "digital_key_refused"
    response = other_kiosk.call("post", "sessions/digital-key/", data={"challenge": challenge,
                                                                        "code": code})
    assert response.status_code == 403 and response.json()["code"] == "digital_key_refused"
    sent = len(mail.outbox)
    unknown = _start(kiosk, "nobody@example.org", django_capture_on_commit_callbacks)
    assert len(mail.outbox) == sent  # nothing sent, same answer
    response = kiosk.call("post", "sessions/digital-key/", data={"challenge": unknown,
                                                                  "code": "123456"})
    assert response.status_code == 403
    response = kiosk.call("post", "sessions/digital-key/", data={"challenge": "forged",
                                                                  "code": "123456"})
    assert response.status_code == 403
    assert KioskSession.objects.count() == 0
