"""The card reader's connection token: POST /api/kiosk/v1/payments/connection-token/.

The Stripe Terminal reader SDK on a terminal asks our backend for a connection token, which we
get from Stripe (POST /v1/terminal/connection_tokens) with the terminal's Stripe location.
"""

from __future__ import annotations

import pytest
import stripe

from kiosk_api import services
from payments import stripe_api

pytestmark = pytest.mark.django_db

PATH = "payments/connection-token/"


def _registered_at(kiosk, location: str) -> None:
    type(kiosk.terminal).objects.filter(pk=kiosk.terminal.pk).update(stripe_location=location)


def test_the_reader_gets_a_connection_token_for_its_location(kiosk, fake_stripe):
    """localstripe lacks /v1/terminal/connection_tokens (it answers 404), so Stripe's answer
    is stubbed at the stripe library's HTTP client: everything of ours runs for real."""
    _registered_at(kiosk, "tml_FDOt9wlaZ4x1xx")
    fake = fake_stripe(body={"object": "terminal.connection_token",
                             "secret": "pst_test_YWNjdF8xRk9", "location": "tml_FDOt9wlaZ4x1xx"})
    response = kiosk.call("post", PATH)
    assert response.status_code == 201, response.json()
    assert response.json() == {"secret": "pst_test_YWNjdF8xRk9"}
    [asked] = fake.requests
    assert asked["method"] == "post"
    assert asked["url"] == "https://stripe.invalid/v1/terminal/connection_tokens"
    assert asked["data"] == {"location": ["tml_FDOt9wlaZ4x1xx"]}


def test_a_terminal_without_stripe_location_gets_an_unscoped_token(kiosk, fake_stripe):
    """Stubbed as above (localstripe lacks /v1/terminal/connection_tokens)."""
    fake = fake_stripe(body={"object": "terminal.connection_token", "secret": "pst_test_x"})
    response = kiosk.call("post", PATH)
    assert response.status_code == 201 and response.json()["secret"] == "pst_test_x"
    assert fake.requests[0]["data"] == {}


def test_another_payment_provider_means_no_token(kiosk, fake_stripe, settings):
    settings.KIOSK_PAYMENT_PROVIDER = "stripe"
    fake = fake_stripe(body={"secret": "pst_test_x"})
    response = kiosk.call("post", PATH)
    assert response.status_code == 409
    assert response.json()["code"] == "card_reader_not_stripe_terminal"
    assert response.json()["detail"]
    assert fake.requests == []


@pytest.mark.parametrize("status, body", [
    (500, {"error": {"type": "api_error", "message": "Stripe is down"}}),
    (400, {"error": {"type": "invalid_request_error", "message": "No such location: 'tml_x'",
                     "code": "resource_missing"}}),
    (200, {"object": "terminal.connection_token"}),  # an answer without a secret
])
def test_a_stripe_error_is_a_clean_503(kiosk, fake_stripe, status, body):
    fake_stripe(status=status, body=body)
    response = kiosk.call("post", PATH)
    assert response.status_code == 503
    assert response.json()["code"] == "card_reader_unavailable"
    assert "Stripe" not in response.json()["detail"]


def test_stripe_unreachable_is_a_clean_503(kiosk, settings, monkeypatch):
    def unreachable(self, *args, **kwargs):
        raise stripe.APIConnectionError("connection refused", should_retry=False)

    settings.STRIPE_API_BASE = "https://stripe.invalid"
    monkeypatch.setattr(stripe.HTTPClient, "request_with_retries", unreachable)
    response = kiosk.call("post", PATH)
    assert response.status_code == 503
    assert response.json()["code"] == "card_reader_unavailable"


def test_localstripe_without_terminal_api_is_a_clean_503(kiosk, stripe_settings):
    """Against localstripe itself (no stub): it answers 404 for the Terminal API, which
    Stripe would answer for an account without Terminal."""
    response = kiosk.call("post", PATH)
    assert response.status_code == 503
    assert response.json()["code"] == "card_reader_unavailable"


def test_no_token_without_terminal_credentials(client, kiosk, fake_stripe):
    fake = fake_stripe(body={"secret": "pst_test_x"})
    response = client.post(f"/api/kiosk/v1/{PATH}")
    assert response.status_code in (401, 403)
    response = client.post(f"/api/kiosk/v1/{PATH}",
                           HTTP_AUTHORIZATION=kiosk.authorization[:-4] + "AAAA")
    assert response.status_code in (401, 403)
    assert fake.requests == []


def test_a_disabled_terminal_gets_no_token(kiosk, fake_stripe):
    fake = fake_stripe(body={"secret": "pst_test_x"})
    services.terminal_disable(terminal=kiosk.terminal, actor=None, reason="stolen")
    response = kiosk.call("post", PATH)
    assert response.status_code in (401, 403)
    assert response.json()["code"] == "terminal_disabled"
    assert fake.requests == []


def test_connection_tokens_are_rate_limited_like_other_calls(kiosk, fake_stripe, settings):
    settings.KIOSK_THROTTLE_RATE = "2/min"
    fake = fake_stripe(body={"secret": "pst_test_x"})
    assert [kiosk.call("post", PATH).status_code for _ in range(3)] == [201, 201, 429]
    assert len(fake.requests) == 2


def test_the_token_call_goes_through_stripe_api(fake_stripe):
    """payments.stripe_api's function on its own (stubbed: localstripe lacks
    /v1/terminal/connection_tokens)."""
    fake_stripe(body={"object": "terminal.connection_token", "secret": "pst_test_y"})
    assert stripe_api.create_terminal_connection_token(location="tml_1") == "pst_test_y"
    fake_stripe(status=500, body={"error": {"type": "api_error", "message": "down"}})
    with pytest.raises(stripe_api.StripeUnavailable):
        stripe_api.create_terminal_connection_token()


def test_the_schema_documents_the_connection_token(client):
    import yaml

    schema = yaml.safe_load(client.get("/api/kiosk/v1/schema/").content)
    operation = schema["paths"]["/api/kiosk/v1/payments/connection-token/"]["post"]
    assert {"201", "401", "403", "409", "429", "503"} <= set(operation["responses"])
