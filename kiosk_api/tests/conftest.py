from __future__ import annotations

import datetime as dt
import functools
import json
from dataclasses import dataclass
from urllib.parse import parse_qs

import pytest
import stripe
from django.core.cache import cache
from rest_framework.test import APIClient

from catalogue.models import Procedure
from identity.models import Person, User
from kiosk_api import demo_pki as pki
from kiosk_api import services

# localstripe on loopback, and what a card reader does with a card as far as localstripe can
# play it: tokenise a test card (localstripe has no card_present payment method; see
# payments.providers.stripe.StripeTerminalProvider). Shared with the payments tests.
from payments.tests.conftest import localstripe  # noqa: F401


def national_number(birth: dt.date, serial: int) -> str:
    """A valid Belgian national register number (stdnum.be.nn checksum)."""
    first = f"{birth:%y%m%d}{serial:03d}"
    base = int(("2" if birth.year >= 2000 else "") + first)
    return f"{first}{97 - base % 97:02d}"


@pytest.fixture(autouse=True)
def _clear_throttles():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(scope="session")
def eid_pki():
    root = pki.make_root("Test Belgium Root CA")
    citizen_ca = pki.make_sub_ca(root, "Test Citizen CA")
    foreign_root = pki.make_root("Foreign Root CA", country="XX")
    foreign_ca = pki.make_sub_ca(foreign_root, "Foreign Citizen CA")
    return {"root": root, "citizen_ca": citizen_ca, "foreign_root": foreign_root,
            "foreign_ca": foreign_ca}


@pytest.fixture(autouse=True)
def trust_anchors(settings, tmp_path, eid_pki):
    path = tmp_path / "eid-roots.pem"
    path.write_bytes(eid_pki["root"].pem)
    settings.KIOSK_EID_TRUST_ANCHORS = [str(path)]
    return path


@pytest.fixture
def citizen(db):
    number = national_number(dt.date(1985, 7, 31), 123)
    person = Person.objects.create(number=number, number_kind="national", first_names="Marie",
                                   last_name="Dupont", birth_date=dt.date(1985, 7, 31),
                                   gender="F")
    return User.objects.create(username=f"citizen-{number}", person=person,
                               preferred_language="nl")


@pytest.fixture(scope="session")
def card_numbers():
    return {"marie": national_number(dt.date(1985, 7, 31), 123)}


@pytest.fixture(scope="session")
def card(eid_pki, card_numbers):
    return pki.make_card(eid_pki["citizen_ca"], national_number=card_numbers["marie"])


@dataclass
class TerminalClient:
    terminal: object
    authorization: str
    client: APIClient

    def call(self, method: str, path: str, *, session: str | None = None, **kwargs):
        headers = {"HTTP_AUTHORIZATION": self.authorization}
        if session:
            headers["HTTP_X_KIOSK_SESSION"] = session
        return getattr(self.client, method)(f"/api/kiosk/v1/{path}", format="json",
                                            **headers, **kwargs)

    def open_session(self, card) -> str:
        nonce = self.call("post", "sessions/nonce/").json()["nonce"]
        response = self.call("post", "sessions/eid/", data={
            "nonce": nonce, "signature": card.sign(nonce), "certificates": card.certificates()})
        assert response.status_code == 201, response.json()
        return response.json()["token"]


def make_terminal(code: str = "centre-01") -> TerminalClient:
    terminal, issued = services.terminal_register(code=code, branch="administrative_centre",
                                                  location="Ground floor", actor=None)
    return TerminalClient(terminal=terminal, authorization=issued.authorization,
                          client=APIClient())


@pytest.fixture
def kiosk(db) -> TerminalClient:
    return make_terminal()


@pytest.fixture
def other_kiosk(db) -> TerminalClient:
    return make_terminal("laeken-01")


@pytest.fixture
def household_certificate(db):
    return Procedure.objects.create(
        code="household-composition", name_fr="Composition de ménage",
        name_nl="Samenstelling van het gezin", name_en="Household composition",
        name_de="Haushaltszusammensetzung", category="population", department="demography",
        workflow_kind="instant", delivery="signed_pdf", offered_kiosk=True, fee_kiosk=0,
        required_assurance_level=2, form_schema={
            "type": "object",
            "properties": {"purpose": {"type": "string", "maxLength": 100, "x-labels": {
                "fr": "Motif", "nl": "Reden", "en": "Purpose", "de": "Zweck"}}},
            "required": ["purpose"]})


@pytest.fixture
def stripe_settings(settings, localstripe):  # noqa: F811 - the fixture imported above
    settings.STRIPE_API_BASE = localstripe
    settings.STRIPE_SECRET_KEY = "sk_test_guichet"
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_guichet"
    settings.STRIPE_PAYMENT_METHOD_TYPES = ["card"]
    settings.CELERY_TASK_ALWAYS_EAGER = True
    return settings


class FakeStripeHTTP(stripe.HTTPClient):
    """The stripe library's own HTTP client hook: answers every request with one canned
    response and records what was asked."""

    name = "fake"

    def __init__(self, status: int = 200, body: dict | None = None) -> None:
        super().__init__()
        self.status = status
        self.body = body or {}
        self.requests: list[dict] = []

    def request(self, method, url, headers, post_data=None, *, _usage=None):
        self.requests.append({"method": method, "url": url,
                              "data": parse_qs(post_data or "")})
        return json.dumps(self.body), self.status, {"stripe-should-retry": "false"}

    def close(self) -> None:
        pass


@pytest.fixture
def fake_stripe(monkeypatch, settings):
    """Every Stripe client stripe_api builds talks to the returned fake instead of the
    network (payments.stripe_api._client runs as in production, with our settings). For the
    Terminal API, which localstripe lacks (/v1/terminal/connection_tokens answers 404)."""
    settings.STRIPE_API_BASE = "https://stripe.invalid"
    settings.STRIPE_SECRET_KEY = "sk_test_guichet"

    def install(**kwargs) -> FakeStripeHTTP:
        fake = FakeStripeHTTP(**kwargs)
        monkeypatch.setattr(stripe, "StripeClient",
                            functools.partial(stripe.StripeClient, http_client=fake))
        return fake

    return install
