"""The Stripe webhook endpoint: signatures, replays, disorder and the race with the return page.

localstripe sends each event once and signs it; replays, disorder, stale signatures and refund
events are posted here with bodies signed by the stripe library's own helper.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, connections
from django.urls import reverse

from crm.models import CaseEvent
from payments import services, stripe_api
from payments.constants import PaymentState
from payments.models import Payment, PaymentEvent
from payments.tests.conftest import (
    card_token,
    intent_event,
    make_case,
    make_citizen,
    signed_event,
)

URL = "/webhooks/stripe/"


def post(client, event, **sign):
    body, header = signed_event(event, **sign)
    return client.post(URL, data=body, content_type="application/json",
                       HTTP_STRIPE_SIGNATURE=header)


def paid_at_stripe(case, localstripe):
    """The citizen paid at Stripe; we have not heard of it yet."""
    payment = services.payment_start(case=case, provider="stripe")
    stripe_api.confirm_with_card_token(intent_id=payment.provider_reference,
                                       token=card_token(localstripe),
                                       idempotency_key=f"t-{payment.pk}")
    return payment


def test_url_is_named():
    assert reverse("payments_stripe_webhook") == URL


@pytest.mark.django_db
def test_the_same_event_three_times_settles_once(client, case, localstripe):
    payment = paid_at_stripe(case, localstripe)
    event = intent_event(payment.provider_reference, event_id="evt_once")
    for _ in range(3):
        response = post(client, event)
        assert response.status_code == 200
    payment.refresh_from_db()
    assert payment.state == PaymentState.SUCCEEDED and payment.settled_by == "webhook"
    assert PaymentEvent.objects.filter(provider_event_id="evt_once").count() == 1
    assert CaseEvent.objects.filter(case=case, kind="payment").count() == 1
    case.refresh_from_db()
    assert case.state == "in_progress"
    assert Payment.objects.filter(case=case, state=PaymentState.SUCCEEDED).count() == 1


@pytest.mark.django_db
def test_events_out_of_order_leave_one_succeeded_payment(client, case, localstripe):
    payment = paid_at_stripe(case, localstripe)
    pi = payment.provider_reference
    succeeded = intent_event(pi, event_id="evt_s")
    processing = intent_event(pi, type="payment_intent.processing", status="processing",
                              event_id="evt_p")
    failed = intent_event(pi, type="payment_intent.payment_failed",
                          status="requires_payment_method", event_id="evt_f",
                          error={"code": "card_declined", "message": "declined"})
    for event in (succeeded, failed, processing, succeeded, failed):
        assert post(client, event).status_code == 200
    payment.refresh_from_db()
    assert payment.state == PaymentState.SUCCEEDED
    assert CaseEvent.objects.filter(case=case, kind="payment").count() == 1
    assert set(PaymentEvent.objects.filter(payment=payment).exclude(provider_event_id=None)
               .values_list("provider_event_id", flat=True)) == {"evt_s", "evt_p", "evt_f"}


@pytest.mark.django_db
def test_a_failure_notification_fails_a_pending_attempt(client, case):
    payment = services.payment_start(case=case, provider="stripe")
    event = intent_event(payment.provider_reference, type="payment_intent.payment_failed",
                         status="requires_payment_method",
                         error={"code": "card_declined", "message": "Your card was declined."})
    assert post(client, event).status_code == 200
    payment.refresh_from_db()
    assert payment.state == PaymentState.FAILED and payment.failure_code == "card_declined"
    case.refresh_from_db()
    assert case.state == "awaiting_payment"


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["wrong_secret", "stale", "missing", "tampered"])
def test_bad_or_stale_signatures_get_400_and_record_nothing(client, case, localstripe, kind):
    payment = paid_at_stripe(case, localstripe)
    before = PaymentEvent.objects.count()
    event = intent_event(payment.provider_reference)
    if kind == "wrong_secret":
        body, header = signed_event(event, secret="whsec_attacker")
    elif kind == "stale":
        body, header = signed_event(event, timestamp=int(time.time()) - 3600)
    else:
        body, header = signed_event(event)
        if kind == "tampered":
            body = body.replace(b'"amount": 500', b'"amount": 1')
    headers = {} if kind == "missing" else {"HTTP_STRIPE_SIGNATURE": header}
    response = client.post(URL, data=body, content_type="application/json", **headers)
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_signature"}
    assert PaymentEvent.objects.count() == before
    payment.refresh_from_db()
    assert payment.state == PaymentState.PENDING


@pytest.mark.django_db
def test_unhandled_events_and_unknown_payments_are_acknowledged(client):
    response = post(client, {"id": "evt_c", "type": "customer.created", "created": 1,
                             "data": {"object": {"id": "cus_1"}}})
    assert response.status_code == 200 and response.json()["outcome"] == "ignored"
    response = post(client, intent_event("pi_unknown"))
    assert response.status_code == 200 and response.json()["outcome"] == "unknown_payment"
    assert client.get(URL).status_code == 405
    assert PaymentEvent.objects.count() == 0


@pytest.mark.django_db
def test_a_refund_made_in_the_stripe_dashboard_is_recorded_once(client, case, localstripe):
    payment = paid_at_stripe(case, localstripe)
    post(client, intent_event(payment.provider_reference))
    refund_event = {"id": "evt_r", "type": "charge.refunded", "created": int(time.time()),
                    "data": {"object": {"id": "ch_x", "object": "charge",
                                        "payment_intent": payment.provider_reference,
                                        "amount": 500, "amount_refunded": 200}}}
    for _ in range(2):
        assert post(client, refund_event).status_code == 200
    payment.refresh_from_db()
    assert payment.state == PaymentState.PARTIALLY_REFUNDED and payment.refunded_cents == 200
    assert PaymentEvent.objects.filter(provider_event_id="evt_r").count() == 1


@pytest.mark.django_db
def test_localstripe_delivers_its_own_signed_webhook(live_server, localstripe, procedure,
                                                     settings):
    """A real delivery: localstripe signs payment_intent.succeeded and posts it to us."""
    import urllib.parse
    import urllib.request

    data = urllib.parse.urlencode({"url": live_server.url + URL,
                                   "secret": settings.STRIPE_WEBHOOK_SECRET}).encode()
    urllib.request.urlopen(urllib.request.Request(
        f"{localstripe}/_config/webhooks/guichet-test", data=data, method="POST"), timeout=5)
    try:
        case = make_case(procedure, make_citizen())
        payment = paid_at_stripe(case, localstripe)
        # Wait for the case too: on SQLite the live server shares the test's in-memory
        # database connection, so the payment can be seen before the same transaction has
        # moved the case on (on PostgreSQL both appear at its commit).
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            payment.refresh_from_db()
            case.refresh_from_db()
            if payment.state == PaymentState.SUCCEEDED and case.state == "in_progress":
                break
            time.sleep(0.2)
        assert payment.state == PaymentState.SUCCEEDED and payment.settled_by == "webhook"
        assert case.state == "in_progress"
    finally:
        # Point the hook somewhere harmless so later tests' events go nowhere.
        data = urllib.parse.urlencode({"url": "http://127.0.0.1:9/",
                                       "secret": "whsec_unused"}).encode()
        urllib.request.urlopen(urllib.request.Request(
            f"{localstripe}/_config/webhooks/guichet-test", data=data, method="POST"),
            timeout=5)


@pytest.mark.django_db(transaction=True)
def test_return_page_and_webhook_race_settles_once(client, procedure, localstripe):
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL (SQLite serialises writers anyway); CI runs it")
    for round_ in range(3):
        case = make_case(procedure, make_citizen())
        payment = paid_at_stripe(case, localstripe)
        event = intent_event(payment.provider_reference, event_id=f"evt_race_{round_}")
        barrier = threading.Barrier(4)
        errors: list[BaseException] = []

        def run(fn, barrier=barrier, errors=errors):
            try:
                barrier.wait()
                fn()
            except BaseException as exc:  # reported below
                errors.append(exc)
            finally:
                connections.close_all()

        def by_webhook(ev=event):
            services.payment_handle_webhook(event=stripe_api.WebhookEvent(
                id=ev["id"], type=ev["type"], created=ev["created"],
                object_id=ev["data"]["object"]["id"], object=ev["data"]["object"]))

        def by_return(p=payment):
            services.payment_sync(payment=Payment.objects.get(pk=p.pk), source="return")

        threads = [threading.Thread(target=run, args=(fn,))
                   for fn in (by_webhook, by_return, by_webhook, by_return)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert errors == []
        payment.refresh_from_db()
        assert payment.state == PaymentState.SUCCEEDED
        assert PaymentEvent.objects.filter(payment=payment, to_state="succeeded",
                                           from_state="pending").count() == 1
        assert CaseEvent.objects.filter(case=case, kind="payment").count() == 1
        case.refresh_from_db()
        assert case.state == "in_progress"
