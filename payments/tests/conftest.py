"""Fixtures of the payments tests: localstripe on loopback (a real, stateful fake Stripe run
as its own process, never imported: it is GPL-3), and cases waiting for their fee."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import Group

from catalogue.models import Procedure
from identity.constants import AssuranceLevel
from identity.models import Person, User
from payments import stripe_api
from payments.devstripe import wait_until_up

WEBHOOK_SECRET = "whsec_test_guichet"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def localstripe() -> Iterator[str]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "localstripe", "--port", str(port), "--from-scratch"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        if not wait_until_up(base, timeout=30):
            pytest.fail("localstripe did not start")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(autouse=True)
def _stripe_settings(settings, localstripe):
    settings.STRIPE_API_BASE = localstripe
    settings.STRIPE_JS_URL = f"{localstripe}/js.stripe.com/v3/"
    settings.STRIPE_SECRET_KEY = "sk_test_guichet"
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_guichet"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_PAYMENT_METHOD_TYPES = ["card"]
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.PAYMENTS_CONFIRM_RATE = "1000/h"  # test_views checks the real limit on its own
    if not getattr(settings, "SIGNING_BACKEND", ""):
        # Django's own cookie signer setting; an empty value (name clash in the signing
        # section of the settings, reported) breaks every request's message storage.
        settings.SIGNING_BACKEND = "django.core.signing.TimestampSigner"


def card_token(base: str, number: str = "4242424242424242") -> str:
    """What Stripe.js' createToken does in the browser: tokenise a card with the publishable
    key."""
    data = (f"card[number]={number}&card[exp_month]=12&card[exp_year]=2034&card[cvc]=123"
            f"&key=pk_test_guichet").encode()
    request = urllib.request.Request(f"{base}/v1/tokens", data=data, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())["id"]


def signed_event(event: dict[str, Any], *, secret: str = WEBHOOK_SECRET,
                 timestamp: int | None = None) -> tuple[bytes, str]:
    payload = json.dumps(event)
    header = stripe_api.sign_webhook_payload(payload=payload, secret=secret,
                                             timestamp=timestamp or int(time.time()))
    return payload.encode(), header


def intent_event(intent_id: str, *, type: str = "payment_intent.succeeded",
                 event_id: str | None = None, amount: int = 500, status: str = "succeeded",
                 error: dict | None = None) -> dict[str, Any]:
    return {
        "id": event_id or f"evt_{intent_id}_{type}",
        "object": "event",
        "type": type,
        "created": int(time.time()),
        "data": {"object": {"id": intent_id, "object": "payment_intent", "amount": amount,
                            "currency": "eur", "status": status,
                            "last_payment_error": error, "metadata": {}}},
    }


@pytest.fixture
def procedure(db) -> Procedure:
    return Procedure.objects.create(
        code="household-composition", name_fr="Composition de ménage",
        name_nl="Samenstelling van het gezin", name_en="Household composition",
        name_de="Haushaltszusammensetzung", category="population", department="demography",
        workflow_kind="agent_review", delivery="signed_pdf", offered_web=True,
        offered_counter=True, offered_kiosk=True, fee_web=500, fee_mobile=500, fee_kiosk=500,
        fee_counter=700, required_assurance_level=AssuranceLevel.LOW,
        one_open_case_per_person=False, form_schema={})


_counter = iter(range(10**6))


def make_citizen(username: str | None = None) -> User:
    n = next(_counter)
    # Valid Belgian national numbers are not needed by payments; keep them unique.
    person = Person.objects.create(
        number=f"{85073100000 + n:011d}", number_kind="national", gender="F", first_names="Alice", last_name=f"Martin{n}",
        birth_date="1985-07-31")
    return User.objects.create_user(username=username or f"citizen{n}", email=f"c{n}@example.org",
                                    person=person)


@pytest.fixture
def citizen(db) -> User:
    return make_citizen()


def make_case(procedure: Procedure, citizen: User, channel: str = "web"):
    from crm import services as crm_services

    return crm_services.case_submit(procedure=procedure, requester=citizen, channel=channel,
                                    data={}, assurance_level=AssuranceLevel.SUBSTANTIAL)


@pytest.fixture
def case(procedure, citizen):
    c = make_case(procedure, citizen)
    assert c.state == "awaiting_payment"
    return c


def staff(username: str, group: str) -> User:
    user = User.objects.create_user(username=username, email=f"{username}@city.example",
                                    is_staff=True)
    user.groups.add(Group.objects.get_or_create(name=group)[0])
    return user


@pytest.fixture
def supervisor(db, procedure) -> User:
    user = staff("supervisor", "Case supervisor")
    from crm.services import queue_for

    queue_for(procedure).supervisors.add(user)
    return user


@pytest.fixture
def counter_agent(db) -> User:
    return staff("counter", "Counter agent")


@pytest.fixture(autouse=True)
def _french_by_default():
    """The site's default language, whatever an earlier request in this thread activated."""
    from django.utils import translation

    with translation.override("fr"):
        yield
