"""Paying at the terminal: the payment device is a Stripe Terminal card reader.

localstripe plays Stripe on loopback. It accepts the card-present parameters and manual
capture, but it has no card_present payment method and no Terminal API (readers, connection
tokens, test helpers all answer 404), so the reader's part (reading and authorising the card)
is played by confirming the intent with a test card, which brings it where a reader would:
requires_capture. Everything after that (polling, capture, the case moving on) is real.
"""

from __future__ import annotations

import pytest

from crm.models import Case
from payments import stripe_api
from payments.models import Payment
from payments.tests.conftest import card_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def paying(kiosk, citizen, card, household_certificate, stripe_settings):
    household_certificate.fee_kiosk = 750
    household_certificate.save()
    token = kiosk.open_session(card)
    response = kiosk.call("post", "requests/", session=token, data={
        "procedure": "household-composition", "data": {"purpose": "school"}})
    assert response.status_code == 201, response.json()
    return token, response.json()["reference"]


def reader_authorises(localstripe: str, intent_id: str, number: str = "4242424242424242"):
    stripe_api.confirm_with_card_token(intent_id=intent_id, token=card_token(localstripe, number),
                                       idempotency_key=f"reader-{intent_id}-{number}")


def test_terminal_payment_is_a_card_present_intent_with_manual_capture(kiosk, paying,
                                                                       monkeypatch):
    token, reference = paying
    asked = []
    real_create = stripe_api.create_intent

    def recording_create(**kwargs):
        asked.append(kwargs)
        return real_create(**kwargs)

    monkeypatch.setattr(stripe_api, "create_intent", recording_create)
    response = kiosk.call("post", f"cases/{reference}/payment/", session=token)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["provider"] == "stripe_terminal" and body["amount_cents"] == 750
    assert body["client_secret"].startswith(body["provider_reference"])
    assert asked[0]["payment_method_types"] == ["card_present"]
    assert asked[0]["capture_method"] == "manual"
    intent = stripe_api.retrieve_intent(body["provider_reference"])
    assert intent.amount == 750 and intent.status == "requires_payment_method"


def test_polling_follows_the_reader_then_captures_and_the_case_moves_on(kiosk, paying,
                                                                         localstripe):
    token, reference = paying
    started = kiosk.call("post", f"cases/{reference}/payment/", session=token).json()
    intent_id = started["provider_reference"]
    # starting again (the terminal retried) resumes the same attempt
    again = kiosk.call("post", f"cases/{reference}/payment/", session=token).json()
    assert again["provider_reference"] == intent_id
    assert kiosk.call("get", f"cases/{reference}/payment/", session=token).json()["state"] \
        == "pending"

    reader_authorises(localstripe, intent_id)
    assert stripe_api.retrieve_intent(intent_id).status == "requires_capture"
    assert Case.objects.get(reference=reference).state == "awaiting_payment"

    polled = kiosk.call("get", f"cases/{reference}/payment/", session=token)
    assert polled.status_code == 200 and polled.json()["state"] == "succeeded"
    assert stripe_api.retrieve_intent(intent_id).status == "succeeded"
    assert Case.objects.get(reference=reference).state != "awaiting_payment"
    # polled again: nothing more is asked of Stripe, the answer stays
    assert kiosk.call("get", f"cases/{reference}/payment/", session=token).json()["state"] \
        == "succeeded"
    assert kiosk.call("post", f"cases/{reference}/payment/", session=token).status_code == 409


def test_a_card_declined_on_the_reader_fails_the_attempt_and_a_new_one_starts(kiosk, paying,
                                                                              localstripe):
    token, reference = paying
    first = kiosk.call("post", f"cases/{reference}/payment/", session=token).json()
    with pytest.raises(stripe_api.CardDeclined):
        # a card the bank refuses at authorisation (localstripe: 4000 0000 0000 0341)
        reader_authorises(localstripe, first["provider_reference"], "4000000000000341")
    polled = kiosk.call("get", f"cases/{reference}/payment/", session=token).json()
    assert polled["state"] == "failed" and polled["failure_message"]
    assert Case.objects.get(reference=reference).state == "awaiting_payment"

    second = kiosk.call("post", f"cases/{reference}/payment/", session=token)
    assert second.status_code == 201
    assert second.json()["provider_reference"] != first["provider_reference"]
    assert Payment.objects.filter(case__reference=reference).count() == 2


def test_an_authorised_payment_of_a_case_cancelled_meanwhile_is_not_captured(
        kiosk, paying, localstripe, citizen):
    from crm import services as crm_services
    from payments import services as payment_services

    token, reference = paying
    started = kiosk.call("post", f"cases/{reference}/payment/", session=token).json()
    reader_authorises(localstripe, started["provider_reference"])
    crm_services.case_cancel(case=Case.objects.get(reference=reference), actor=citizen,
                             reason="changed my mind")

    payment = Payment.objects.get(provider_reference=started["provider_reference"])
    payment = payment_services.payment_sync(payment=payment, source="return")
    assert payment.state == "pending"
    assert stripe_api.retrieve_intent(payment.provider_reference).status == "requires_capture"
    # reconciliation releases the hold: nothing was taken from the citizen
    payment = payment_services.payment_sync(payment=payment)
    assert payment.state == "cancelled"
    assert stripe_api.retrieve_intent(payment.provider_reference).status == "canceled"


def test_stripes_webhook_settles_a_terminal_payment_too(kiosk, paying, localstripe, client,
                                                        settings):
    """The terminal may be switched off before it polls: Stripe's payment_intent.succeeded
    event settles the payment all the same."""
    import json
    import time

    settings.STRIPE_WEBHOOK_SECRET = "whsec_test_kiosk"
    token, reference = paying
    started = kiosk.call("post", f"cases/{reference}/payment/", session=token).json()
    intent_id = started["provider_reference"]
    reader_authorises(localstripe, intent_id)
    stripe_api.capture_intent(intent_id=intent_id, idempotency_key="webhook-test")
    event = {"id": "evt_kiosk_1", "type": "payment_intent.succeeded", "created": int(time.time()),
             "data": {"object": {"id": intent_id, "object": "payment_intent",
                                 "status": "succeeded", "amount": 750, "amount_received": 750,
                                 "currency": "eur", "metadata": {}}}}
    payload = json.dumps(event)
    header = stripe_api.sign_webhook_payload(payload=payload, secret="whsec_test_kiosk")
    response = client.post("/webhooks/stripe/", data=payload, content_type="application/json",
                           HTTP_STRIPE_SIGNATURE=header)
    assert response.status_code == 200, response.content
    assert Payment.objects.get(provider_reference=intent_id).state == "succeeded"
    assert Case.objects.get(reference=reference).state != "awaiting_payment"
