"""Payments end to end against localstripe: paying, declines, reconciliation, refunds, counter."""

from __future__ import annotations

import datetime as dt
import urllib.request

import pytest
from django.utils import timezone, translation

from core.errors import Conflict, NotAllowed, ValidationFailed
from crm.models import CaseEvent
from payments import services, stripe_api
from payments.constants import EventKind, PaymentState
from payments.models import Payment, PaymentEvent
from payments.selectors import daily_report, refund_offered, stripe_day_totals
from payments.tasks import reconcile_pending_payments
from payments.tests.conftest import card_token, make_case, make_citizen

pytestmark = pytest.mark.django_db


def payment_events_of(case) -> int:
    return CaseEvent.objects.filter(case=case, kind="payment").count()


def pay(case, localstripe, number="4242424242424242"):
    payment = services.payment_start(case=case, provider="stripe")
    return services.payment_confirm_card(payment=payment, token=card_token(localstripe, number),
                                         user=case.requester)


def test_a_successful_payment_moves_the_case_into_its_queue(case, localstripe):
    payment = pay(case, localstripe)
    assert payment.state == PaymentState.SUCCEEDED
    assert payment.provider_reference.startswith("pi_")
    assert payment.provider_charge_reference.startswith("ch_")
    assert payment.settled_by == "return"
    case.refresh_from_db()
    assert case.state == "in_progress"
    assert case.payment_reference == payment.provider_reference
    assert payment_events_of(case) == 1
    assert stripe_api.retrieve_intent(payment.provider_reference).amount == 500


def test_reloading_the_pay_page_reuses_the_pending_attempt(case):
    first = services.payment_start(case=case, provider="stripe")
    again = services.payment_start(case=case, provider="stripe")
    assert first.pk == again.pk and again.provider_reference == first.provider_reference
    assert Payment.objects.filter(case=case).count() == 1
    assert first.idempotency_key == f"case-{case.pk}-attempt-1"


def test_a_declined_card_leaves_the_case_waiting_and_a_new_attempt_pays(case, localstripe):
    with translation.override("nl"), pytest.raises(services.PaymentDeclined) as exc:
        pay(case, localstripe, number="4000000000000002")
    assert str(exc.value.message).startswith("Uw kaart werd geweigerd.")
    failed = Payment.objects.get(case=case)
    assert failed.state == PaymentState.FAILED and failed.failure_code == "card_declined"
    case.refresh_from_db()
    assert case.state == "awaiting_payment" and payment_events_of(case) == 0

    second = pay(case, localstripe)
    assert second.attempt == 2 and second.state == PaymentState.SUCCEEDED
    assert second.provider_reference != failed.provider_reference
    case.refresh_from_db()
    assert case.state == "in_progress" and payment_events_of(case) == 1


def test_a_paid_fee_cannot_be_started_again(case, localstripe):
    pay(case, localstripe)
    case.refresh_from_db()
    with pytest.raises(Conflict):
        services.payment_start(case=case, provider="stripe")


def test_only_the_requester_pays_with_the_card_form(case, localstripe):
    payment = services.payment_start(case=case, provider="stripe")
    other = make_citizen()
    with pytest.raises(NotAllowed):
        services.payment_confirm_card(payment=payment, token=card_token(localstripe), user=other)
    with pytest.raises(ValidationFailed):
        services.payment_confirm_card(payment=payment, token="not-a-token", user=case.requester)
    payment.refresh_from_db()
    assert payment.state == PaymentState.PENDING


def test_a_lost_webhook_is_settled_by_reconciliation(case, localstripe, settings):
    payment = services.payment_start(case=case, provider="stripe")
    # The citizen pays at Stripe but neither the return page nor the webhook reaches us.
    stripe_api.confirm_with_card_token(intent_id=payment.provider_reference,
                                       token=card_token(localstripe), idempotency_key="lost")
    settings.PAYMENTS_RECONCILE_AFTER_MINUTES = 15
    assert reconcile_pending_payments() == {"checked": 0, "settled": 0}  # too recent
    Payment.objects.filter(pk=payment.pk).update(
        created_at=timezone.now() - dt.timedelta(minutes=20))
    result = reconcile_pending_payments.delay().get()
    assert result == {"checked": 1, "settled": 1}
    payment.refresh_from_db()
    assert payment.state == PaymentState.SUCCEEDED and payment.settled_by == "reconciliation"
    case.refresh_from_db()
    assert case.state == "in_progress" and payment_events_of(case) == 1
    # Running it again changes nothing.
    assert reconcile_pending_payments() == {"checked": 0, "settled": 0}


def test_reconciliation_leaves_an_unpaid_intent_pending(case):
    payment = services.payment_start(case=case, provider="stripe")
    Payment.objects.filter(pk=payment.pk).update(
        created_at=timezone.now() - dt.timedelta(hours=1))
    assert reconcile_pending_payments() == {"checked": 1, "settled": 0}
    payment.refresh_from_db()
    assert payment.state == PaymentState.PENDING


# --- refunds -----------------------------------------------------------------------------


def test_partial_then_full_refund_by_a_supervisor_is_audited(case, localstripe, supervisor):
    payment = pay(case, localstripe)
    refund = services.payment_refund(payment=payment, amount_cents=200,
                                     reason="Charged the web fee twice", actor=supervisor)
    assert refund.provider_reference.startswith("re_")
    payment.refresh_from_db()
    assert payment.state == PaymentState.PARTIALLY_REFUNDED and payment.refunded_cents == 200
    services.payment_refund(payment=payment, amount_cents=300, reason="Request withdrawn",
                            actor=supervisor)
    payment.refresh_from_db()
    assert payment.state == PaymentState.REFUNDED and payment.refundable_cents == 0
    events = PaymentEvent.objects.filter(payment=payment, kind=EventKind.REFUNDED)
    assert [(e.amount_cents, e.actor, e.note) for e in events] == [
        (-200, supervisor, "Charged the web fee twice"), (-300, supervisor, "Request withdrawn")]
    assert CaseEvent.objects.filter(case=case, kind="note", actor=supervisor).count() == 2
    with pytest.raises(Conflict):
        services.payment_refund(payment=payment, amount_cents=1, reason="again",
                                actor=supervisor)


def test_refunds_are_checked(case, localstripe, supervisor, counter_agent):
    payment = pay(case, localstripe)
    with pytest.raises(NotAllowed):
        services.payment_refund(payment=payment, amount_cents=100, reason="x",
                                actor=counter_agent)
    with pytest.raises(ValidationFailed) as exc:
        services.payment_refund(payment=payment, amount_cents=501, reason="", actor=supervisor)
    assert set(exc.value.details) == {"amount", "reason"}
    with pytest.raises(ValidationFailed):
        services.payment_refund(payment=payment, amount_cents=0, reason="x", actor=supervisor)
    payment.refresh_from_db()
    assert payment.refunded_cents == 0 and payment.refunds.count() == 0


def test_a_cancelled_case_with_a_paid_fee_offers_the_refund(case, localstripe, supervisor):
    from crm import services as crm_services

    payment = pay(case, localstripe)
    case.refresh_from_db()
    assert not refund_offered(case)
    crm_services.case_cancel(case=case, actor=case.requester, reason="No longer needed")
    case.refresh_from_db()
    assert refund_offered(case)
    services.payment_refund(payment=payment, amount_cents=500, reason="Cancelled",
                            actor=supervisor)
    case.refresh_from_db()
    assert not refund_offered(case)


# --- counter ------------------------------------------------------------------------------


def test_counter_payment_with_the_right_amount_prints_a_receipt(procedure, counter_agent):
    case = make_case(procedure, make_citizen())
    payment = services.payment_record_counter(case=case, provider="counter_cash",
                                              amount_cents=700, agent=counter_agent)
    assert payment.state == PaymentState.SUCCEEDED and payment.channel == "counter"
    assert payment.receipt_number and payment.recorded_by == counter_agent
    case.refresh_from_db()
    assert case.state == "in_progress" and payment_events_of(case) == 1


@pytest.mark.parametrize("amount", [500, 699, 701, 0, -700])
def test_counter_amounts_that_do_not_match_the_fee_are_refused(procedure, counter_agent, amount):
    case = make_case(procedure, make_citizen())
    with pytest.raises(ValidationFailed) as exc:
        services.payment_record_counter(case=case, provider="counter_card", amount_cents=amount,
                                        agent=counter_agent)
    assert "7,00" in str(exc.value.details["amount"][0]) or "7.00" in str(
        exc.value.details["amount"][0])
    assert not Payment.objects.filter(case=case).exists()
    case.refresh_from_db()
    assert case.state == "awaiting_payment"


def test_counter_payment_needs_a_counter_agent_and_cancels_the_online_attempt(
        case, counter_agent, citizen):
    with pytest.raises(NotAllowed):
        services.payment_record_counter(case=case, provider="counter_cash", amount_cents=700,
                                        agent=citizen)
    online = services.payment_start(case=case, provider="stripe")
    services.payment_record_counter(case=case, provider="counter_card", amount_cents=700,
                                    agent=counter_agent)
    online.refresh_from_db()
    assert online.state == PaymentState.CANCELLED
    assert stripe_api.retrieve_intent(online.provider_reference).status == "canceled"
    case.refresh_from_db()
    assert payment_events_of(case) == 1


# --- daily report ----------------------------------------------------------------------------


def test_daily_report_adds_up_to_stripe_totals(procedure, localstripe, supervisor,
                                               counter_agent):
    # Start from an empty Stripe account so its day totals are this test's only.
    urllib.request.urlopen(urllib.request.Request(f"{localstripe}/_config/data",
                                                  method="DELETE"), timeout=5)
    paid = []
    for _ in range(3):
        c = make_case(procedure, make_citizen())
        paid.append(pay(c, localstripe))
    services.payment_refund(payment=paid[0], amount_cents=150, reason="partial",
                            actor=supervisor)
    services.payment_record_counter(case=make_case(procedure, make_citizen()),
                                    provider="counter_cash", amount_cents=700,
                                    agent=counter_agent)
    report = daily_report(day=timezone.localdate())
    stripe_totals = stripe_day_totals(day=timezone.localdate())
    assert report.provider_totals["stripe"] == stripe_totals == {
        "count": 3, "gross_cents": 1500, "refunds_cents": 150, "net_cents": 1350}
    assert report.provider_totals["counter_cash"]["net_cents"] == 700
    assert report.total_net_cents == 1350 + 700
    assert sum(r.net_cents for r in report.rows) == report.total_net_cents
    assert daily_report(day=timezone.localdate() - dt.timedelta(days=1)).rows == []


def test_reconciliation_closes_the_open_attempt_of_a_cancelled_case(case):
    from crm import services as crm_services

    payment = services.payment_start(case=case, provider="stripe")
    crm_services.case_cancel(case=case, actor=case.requester, reason="Changed my mind")
    Payment.objects.filter(pk=payment.pk).update(
        created_at=timezone.now() - dt.timedelta(hours=1))
    assert reconcile_pending_payments() == {"checked": 1, "settled": 1}
    payment.refresh_from_db()
    assert payment.state == PaymentState.CANCELLED
    assert stripe_api.retrieve_intent(payment.provider_reference).status == "canceled"


def test_polling_a_pending_payment_adds_nothing_to_the_ledger(case):
    payment = services.payment_start(case=case, provider="stripe")
    before = PaymentEvent.objects.filter(payment=payment).count()
    for _ in range(3):
        services.payment_sync(payment=payment, source="return")
    assert PaymentEvent.objects.filter(payment=payment).count() == before
    payment.refresh_from_db()
    assert payment.state == PaymentState.PENDING
