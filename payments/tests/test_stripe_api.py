"""The thin Stripe wrapper against localstripe on loopback."""

import time

import pytest

from payments import stripe_api
from payments.tests.conftest import WEBHOOK_SECRET, card_token, signed_event


def test_intent_created_and_paid_with_a_tokenised_card(localstripe):
    intent = stripe_api.create_intent(amount_cents=500, currency="EUR",
                                      metadata={"case": "BXL-2026-000001"},
                                      idempotency_key=f"test-{time.time_ns()}")
    assert intent.id.startswith("pi_") and intent.client_secret.startswith(intent.id)
    assert intent.status == "requires_payment_method" and intent.amount == 500
    paid = stripe_api.confirm_with_card_token(intent_id=intent.id, token=card_token(localstripe),
                                              idempotency_key=f"test-{intent.id}")
    assert paid.status == "succeeded" and paid.charge_id.startswith("ch_")
    assert stripe_api.retrieve_intent(intent.id).status == "succeeded"


def test_a_declined_card_raises_card_declined(localstripe):
    intent = stripe_api.create_intent(amount_cents=500, currency="EUR", metadata={},
                                      idempotency_key=f"test-{time.time_ns()}")
    with pytest.raises(stripe_api.CardDeclined) as exc:
        stripe_api.confirm_with_card_token(
            intent_id=intent.id, token=card_token(localstripe, "4000000000000002"),
            idempotency_key=f"test-{intent.id}")
    assert exc.value.code == "card_declined"
    assert stripe_api.retrieve_intent(intent.id).status == "requires_payment_method"


def test_signature_made_by_the_stripe_helper_is_accepted(settings):
    body, header = signed_event({"id": "evt_1", "type": "x", "created": 1,
                                 "data": {"object": {"id": "pi_1"}}})
    event = stripe_api.verify_webhook(payload=body, signature_header=header)
    assert (event.id, event.type, event.object_id) == ("evt_1", "x", "pi_1")


@pytest.mark.parametrize("header_kind", ["wrong_secret", "stale", "missing", "garbage", "tampered"])
def test_bad_or_stale_signatures_are_refused(settings, header_kind):
    event = {"id": "evt_1", "type": "x", "created": 1, "data": {"object": {"id": "pi_1"}}}
    body, header = signed_event(event)
    if header_kind == "wrong_secret":
        body, header = signed_event(event, secret="whsec_other")
    elif header_kind == "stale":
        body, header = signed_event(event, timestamp=int(time.time()) - 3600)
    elif header_kind == "missing":
        header = None
    elif header_kind == "garbage":
        header = "nonsense"
    elif header_kind == "tampered":
        body = body.replace(b"pi_1", b"pi_2")
    with pytest.raises(stripe_api.InvalidWebhook):
        stripe_api.verify_webhook(payload=body, signature_header=header)
    assert WEBHOOK_SECRET == settings.STRIPE_WEBHOOK_SECRET
