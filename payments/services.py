"""Writes of the payments app.

Three paths can learn that a payment settled: the Stripe webhook, the citizen's return from the
payment page and the reconciliation task. They race; every one of them ends in
`payment_settle`, which locks the payment row, records what it was told in the ledger and
changes the payment at most once. The case moves on (crm.services.case_payment_received)
in the same transaction as the change to "succeeded", so it is called exactly once.

Calls to Stripe are made outside database transactions (a network call must not hold row
locks), with idempotency keys derived from our payment so a retry never charges twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import Conflict, DomainError, NotAllowed, ValidationFailed
from core.logging import get_logger
from core.roles import in_group
from payments import stripe_api
from payments.constants import (
    FINAL_STATES,
    SETTLED_STATES,
    SUPERVISOR_GROUP,
    EventKind,
    PaymentState,
    ProviderState,
    SettleSource,
)
from payments.models import Payment, PaymentEvent, Refund
from payments.money import format_euros
from payments.providers import ProviderStatus, registry
from payments.providers.stripe import STRIPE_PROVIDERS, status_of_intent

if TYPE_CHECKING:
    from crm.models import Case
    from identity.models import User

log = get_logger(__name__)

AWAITING_PAYMENT = "awaiting_payment"
COUNTER_PROVIDERS = ("counter_cash", "counter_card")


class PaymentDeclined(DomainError):
    code = "payment_declined"
    status = 402


class ProviderUnavailable(DomainError):
    code = "provider_unavailable"
    status = 503


def _euros(cents: int) -> str:
    return format_euros(cents)


def _in_group(user: Any, group: str) -> bool:
    return in_group(user, group)


def _active(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active)


def can_refund(user: Any, case: Case | None = None) -> bool:
    """Refunds are a supervisor's decision: a supervisor of the case's department (crm's
    roles), or staff given the explicit permission; never the agent who took the money."""
    from crm.selectors import roles_on_case
    from crm.workflow import Role

    if not _active(user):
        return False
    if user.is_superuser or user.has_perm("payments.refund_payment"):
        return True
    return case is not None and Role.SUPERVISOR in roles_on_case(user, case)


def can_record_counter(user: Any) -> bool:
    from crm.selectors import is_counter_agent

    if not _active(user):
        return False
    return user.has_perm("payments.record_counter_payment") or is_counter_agent(user)


def can_pay(user: Any, case: Case) -> bool:
    from crm.selectors import roles_on_case
    from crm.workflow import Role

    return _active(user) and Role.CITIZEN in roles_on_case(user, case)


def can_view_report(user: Any) -> bool:
    from crm.selectors import supervised_departments

    if not _active(user):
        return False
    return (user.is_superuser or user.has_perm("payments.view_payment_report")
            or _in_group(user, SUPERVISOR_GROUP) or bool(supervised_departments(user)))


def _event(*, payment: Payment, kind: str, source: str = "", from_state: str = "",
           to_state: str = "", amount_cents: int | None = None, actor: Any = None,
           note: str = "", provider_event_id: str | None = None,
           provider_event_type: str = "") -> PaymentEvent:
    return PaymentEvent.objects.create(
        payment=payment, kind=kind, source=source, from_state=from_state, to_state=to_state,
        amount_cents=amount_cents, actor=actor if getattr(actor, "pk", None) else None,
        note=note[:2000], provider_event_id=provider_event_id,
        provider_event_type=provider_event_type[:100])


def _case_payment_received(*, payment: Payment, actor: Any = None) -> bool:
    """Tell crm the fee is paid, if the case still waits for it. Returns whether it did."""
    from crm import services as crm_services

    case = payment.case
    case.refresh_from_db(fields=["state"])
    if case.state != AWAITING_PAYMENT:
        # Cancelled (or paid otherwise) while the citizen was paying: the money is kept on
        # record and the case page offers the refund to a supervisor.
        _event(payment=payment, kind=EventKind.SUCCEEDED,
               note=f"case in state {case.state}: not moved, refund to be offered")
        return False
    crm_services.case_payment_received(case=case, payment_reference=payment_reference(payment),
                                       actor=actor)
    return True


def payment_reference(payment: Payment) -> str:
    return payment.provider_reference or f"payment-{payment.pk}"


# --- starting a payment ----------------------------------------------------------------


@transaction.atomic
def _payment_create(*, case: Case, provider: str, amount_cents: int, channel: str,
                    recorded_by: Any = None) -> tuple[Payment, bool]:
    """The payment row for a new attempt, or the pending one already there (a reload of the
    payment page must not open a second attempt)."""
    existing = list(Payment.objects.select_for_update().filter(case=case))
    if any(p.state in SETTLED_STATES for p in existing):
        raise Conflict(_("This fee has already been paid."), code="already_paid")
    for p in existing:
        if p.state == PaymentState.PENDING and p.provider == provider \
                and p.amount_cents == amount_cents:
            return p, False
    attempt = max((p.attempt for p in existing), default=0) + 1
    try:
        with transaction.atomic():
            payment = Payment.objects.create(
                case=case, attempt=attempt, amount_cents=amount_cents, channel=channel,
                provider=provider, recorded_by=recorded_by,
                idempotency_key=f"case-{case.pk}-attempt-{attempt}")
    except IntegrityError:
        raise Conflict(_("A payment for this request is already being started. "
                         "Please reload the page."), code="payment_race") from None
    _event(payment=payment, kind=EventKind.CREATED, to_state=PaymentState.PENDING,
           amount_cents=amount_cents, actor=recorded_by)
    return payment, True


def payment_start(*, case: Case, provider: str) -> Payment:
    """Open (or resume) the payment of a case's fee with a provider.

    Not one transaction on purpose: the row is committed first, then Stripe is asked for a
    PaymentIntent with an idempotency key derived from the row, then the reference is saved.
    If Stripe is unreachable the pending row stays, and the next try asks again with the same
    key, so Stripe never holds two intents for one attempt.
    """
    if provider not in registry:
        raise ValidationFailed(_("Unknown payment method."), details={"provider": [
            _("Unknown payment method.")]})
    plugin = registry[provider]
    if case.state != AWAITING_PAYMENT:
        raise Conflict(_("This request is not waiting for a payment."), code="not_awaiting")
    amount = int(case.fee_cents)
    if amount <= 0 and provider != "free":
        raise Conflict(_("This request has no fee to pay."), code="no_fee")
    if case.channel not in plugin.channels:
        raise ValidationFailed(_("This payment method is not offered on this channel."),
                               details={"provider": [_("This payment method is not offered "
                                                       "on this channel.")]})
    payment, _created = _payment_create(case=case, provider=provider, amount_cents=amount,
                                        channel=case.channel)
    if payment.provider_reference:
        return payment
    try:
        result = plugin.start(payment=payment)
    except stripe_api.StripeUnavailable as exc:
        log.warning("payment.start.unavailable", payment=payment.pk, error=str(exc))
        raise ProviderUnavailable(_("Online payment is unavailable right now. "
                                    "Please try again in a few minutes.")) from exc
    except stripe_api.StripeRejected as exc:
        log.error("payment.start.rejected", payment=payment.pk, error=str(exc))
        raise ProviderUnavailable(_("Online payment is unavailable right now. "
                                    "Please try again in a few minutes.")) from exc
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        if not locked.provider_reference:
            locked.provider_reference = result.reference
            locked.client_secret = result.client_secret
            locked.save(update_fields=["provider_reference", "client_secret", "updated_at"])
        payment = locked
    if result.settled:
        payment = payment_settle(payment=payment, source=SettleSource.FREE,
                                 provider_state=ProviderStatus(state=ProviderState.SUCCEEDED,
                                                               reference=result.reference))
    log.info("payment.started", payment=payment.pk, case=case.reference, provider=provider)
    return payment


# --- settling ----------------------------------------------------------------------------


@transaction.atomic
def payment_settle(*, payment: Payment, provider_state: ProviderStatus,
                   source: str = SettleSource.WEBHOOK, provider_event_id: str | None = None,
                   provider_event_type: str = "", actor: Any = None) -> Payment:
    """Apply what a provider says about a payment. Idempotent and safe under races.

    The row is locked; an event already recorded (same provider event id) changes nothing; a
    payment that already succeeded is never failed or cancelled by a late or out-of-order
    notification; the case is told once, when the payment first becomes succeeded.
    """
    locked = Payment.objects.select_for_update().get(pk=payment.pk)
    if provider_event_id and PaymentEvent.objects.filter(
            provider_event_id=provider_event_id).exists():
        return locked
    before = locked.state
    target = {
        ProviderState.SUCCEEDED: PaymentState.SUCCEEDED,
        ProviderState.FAILED: PaymentState.FAILED,
        ProviderState.CANCELLED: PaymentState.CANCELLED,
    }.get(provider_state.state)
    changed = False
    if target == PaymentState.SUCCEEDED and before in (
            PaymentState.PENDING, PaymentState.FAILED, PaymentState.CANCELLED):
        if provider_state.amount_cents is not None and provider_state.amount_cents != \
                locked.amount_cents:
            # The provider says another amount was paid: keep it pending for a human.
            log.error("payment.amount_mismatch", payment=locked.pk,
                      provider_amount=provider_state.amount_cents)
            target = None
        else:
            locked.state = PaymentState.SUCCEEDED
            locked.settled_at = timezone.now()
            locked.settled_by = source
            locked.failure_code = ""
            locked.failure_message = ""
            changed = True
    elif target in (PaymentState.FAILED, PaymentState.CANCELLED) and before == \
            PaymentState.PENDING:
        locked.state = target
        locked.failure_code = provider_state.error_code[:64]
        locked.failure_message = provider_state.error_message[:255]
        changed = True
    if provider_state.charge_reference and not locked.provider_charge_reference:
        locked.provider_charge_reference = provider_state.charge_reference
        changed = True
    if changed:
        locked.save()
    kind = {SettleSource.WEBHOOK: EventKind.PROVIDER_EVENT,
            SettleSource.RETURN: EventKind.RETURN,
            SettleSource.RECONCILIATION: EventKind.RECONCILED}.get(source, EventKind.PROVIDER_EVENT)
    if before != locked.state:
        kind = {PaymentState.SUCCEEDED: EventKind.SUCCEEDED, PaymentState.FAILED: EventKind.FAILED,
                PaymentState.CANCELLED: EventKind.CANCELLED}[PaymentState(locked.state)]
    # A provider event is always recorded (its id makes replays harmless); a poll that
    # changed nothing (return page refreshing, reconciliation) is not, or the ledger of a
    # slow payment would fill with identical lines.
    if changed or provider_event_id:
        _event(payment=locked, kind=kind, source=source, from_state=before,
               to_state=locked.state, amount_cents=provider_state.amount_cents, actor=actor,
               note=provider_state.error_message, provider_event_id=provider_event_id,
               provider_event_type=provider_event_type)
    if before != PaymentState.SUCCEEDED and locked.state == PaymentState.SUCCEEDED:
        _case_payment_received(payment=locked, actor=actor)
        log.info("payment.succeeded", payment=locked.pk, case=locked.case.reference,
                 source=source)
    return locked


def payment_sync(*, payment: Payment, source: str = SettleSource.RECONCILIATION) -> Payment:
    """Ask the provider for the payment's state and settle accordingly (return page,
    reconciliation)."""
    if payment.state in FINAL_STATES or not payment.provider_reference:
        return payment
    plugin = registry[payment.provider]
    try:
        status = plugin.fetch_status(payment=payment)
        if status.state == ProviderState.PENDING and source == SettleSource.RECONCILIATION:
            payment.case.refresh_from_db(fields=["state"])
            if payment.case.state != AWAITING_PAYMENT:
                # The case was cancelled (or paid at the counter) while this attempt was
                # open: close it at the provider so it can no longer be paid.
                plugin.cancel(payment=payment)
                status = plugin.fetch_status(payment=payment)
    except (stripe_api.StripeUnavailable, stripe_api.StripeRejected) as exc:
        log.warning("payment.sync.failed", payment=payment.pk, error=str(exc))
        return payment
    return payment_settle(payment=payment, provider_state=status, source=source)


def payment_confirm_card(*, payment: Payment, token: str, user: Any) -> Payment:
    """Pay a pending Stripe payment with a card tokenised by the card element.

    A declined card fails this attempt (the case keeps waiting, a new attempt may start) and
    raises PaymentDeclined with a message for the citizen.
    """
    if not can_pay(user, payment.case):
        raise NotAllowed(_("You cannot pay for this request."))
    if payment.provider != "stripe" or payment.state != PaymentState.PENDING \
            or not payment.provider_reference:
        raise Conflict(_("This payment can no longer be made. Please reload the page."),
                       code="payment_not_pending")
    if not token or len(token) > 255 or not token.startswith("tok_"):
        raise ValidationFailed(_("The card details could not be read. Please try again."),
                               details={"card": [_("The card details could not be read.")]})
    try:
        intent = stripe_api.confirm_with_card_token(
            intent_id=payment.provider_reference, token=token,
            idempotency_key=f"payment-{payment.pk}")
    except stripe_api.CardDeclined as exc:
        payment_settle(payment=payment, source=SettleSource.RETURN,
                       provider_state=ProviderStatus(
                           state=ProviderState.FAILED, reference=payment.provider_reference,
                           error_code=exc.code, error_message=str(exc)))
        raise PaymentDeclined(_("Your card was declined. No money was taken. "
                                "You can try again with another card.")) from exc
    except stripe_api.StripeRejected as exc:
        log.warning("payment.confirm.rejected", payment=payment.pk, error=str(exc))
        payment = payment_sync(payment=payment, source=SettleSource.RETURN)
        if payment.state == PaymentState.SUCCEEDED:
            return payment
        raise PaymentDeclined(_("The payment could not be completed. No money was taken. "
                                "Please check your card details and try again.")) from exc
    except stripe_api.StripeUnavailable as exc:
        raise ProviderUnavailable(_("Online payment is unavailable right now. "
                                    "Please try again in a few minutes.")) from exc
    return payment_settle(payment=payment, provider_state=status_of_intent(intent),
                          source=SettleSource.RETURN)


# --- webhooks ------------------------------------------------------------------------------

HANDLED_EVENTS = {
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.canceled",
    "payment_intent.processing",
    "charge.refunded",
}


def payment_handle_webhook(*, event: stripe_api.WebhookEvent) -> str:
    """Apply a verified Stripe event. Returns "handled", "ignored" or "unknown_payment"."""
    if event.type not in HANDLED_EVENTS:
        return "ignored"
    if event.type == "charge.refunded":
        return _webhook_refund(event=event)
    payment = Payment.objects.filter(provider__in=STRIPE_PROVIDERS,
                                     provider_reference=event.object_id).first()
    if payment is None:
        log.info("payment.webhook.unknown", stripe_event=event.id, intent=event.object_id)
        return "unknown_payment"
    status = status_of_intent(stripe_api.intent_from_event_object(event.object))
    if event.type == "payment_intent.payment_failed":
        status = ProviderStatus(state=ProviderState.FAILED, reference=status.reference,
                                error_code=status.error_code or "payment_failed",
                                error_message=status.error_message)
    payment_settle(payment=payment, provider_state=status, source=SettleSource.WEBHOOK,
                   provider_event_id=event.id, provider_event_type=event.type)
    return "handled"


@transaction.atomic
def _webhook_refund(*, event: stripe_api.WebhookEvent) -> str:
    """A refund made outside Guichet (Stripe dashboard): bring our record up to Stripe's."""
    intent_id = str(event.object.get("payment_intent") or "")
    payment = Payment.objects.select_for_update().filter(
        provider__in=STRIPE_PROVIDERS, provider_reference=intent_id).first() \
        if intent_id else None
    if payment is None:
        return "unknown_payment"
    if PaymentEvent.objects.filter(provider_event_id=event.id).exists():
        return "handled"
    try:
        refunded = int(event.object.get("amount_refunded") or 0)
    except (TypeError, ValueError):
        refunded = 0
    before = payment.state
    if payment.state in (PaymentState.SUCCEEDED, PaymentState.PARTIALLY_REFUNDED) and \
            payment.refunded_cents < refunded <= payment.amount_cents:
        payment.refunded_cents = refunded
        payment.state = (PaymentState.REFUNDED if refunded == payment.amount_cents
                         else PaymentState.PARTIALLY_REFUNDED)
        payment.save(update_fields=["refunded_cents", "state", "updated_at"])
    _event(payment=payment, kind=EventKind.REFUNDED, source=SettleSource.WEBHOOK,
           from_state=before, to_state=payment.state, amount_cents=refunded,
           provider_event_id=event.id, provider_event_type=event.type,
           note="refund reported by the provider")
    return "handled"


# --- reconciliation ------------------------------------------------------------------------


def payments_reconcile(*, older_than_minutes: int) -> dict[str, int]:
    """Ask the provider about every online payment still pending after the threshold, so a
    lost webhook never loses a payment."""
    cutoff = timezone.now() - timezone.timedelta(minutes=older_than_minutes)
    counts = {"checked": 0, "settled": 0}
    pending = Payment.objects.filter(state=PaymentState.PENDING, created_at__lt=cutoff) \
        .exclude(provider_reference="").values_list("pk", flat=True)
    for pk in list(pending.iterator()):
        payment = Payment.objects.select_related("case").get(pk=pk)
        if not registry[payment.provider].is_online:
            continue
        counts["checked"] += 1
        after = payment_sync(payment=payment, source=SettleSource.RECONCILIATION)
        if after.state != PaymentState.PENDING:
            counts["settled"] += 1
    log.info("payments.reconciled", **counts)
    return counts


# --- refunds -----------------------------------------------------------------------------


@transaction.atomic
def payment_refund(*, payment: Payment, amount_cents: int, reason: str, actor: User) -> Refund:
    """Refund all or part of a paid fee. Supervisors only, with a reason; audited in the
    payment ledger and the case timeline."""
    from crm import services as crm_services

    if not can_refund(actor, payment.case):
        raise NotAllowed(_("Only a supervisor can refund a payment."))
    reason = (reason or "").strip()
    locked = Payment.objects.select_for_update().select_related("case").get(pk=payment.pk)
    errors: dict[str, list[str]] = {}
    if not reason:
        errors["reason"] = [_("Give the reason for the refund.")]
    refundable = locked.refundable_cents
    if refundable <= 0:
        raise Conflict(_("There is nothing left to refund on this payment."),
                       code="nothing_to_refund")
    if not isinstance(amount_cents, int) or amount_cents <= 0:
        errors["amount"] = [_("Enter an amount greater than zero.")]
    elif amount_cents > refundable:
        errors["amount"] = [_("At most %(amount)s can be refunded.")
                            % {"amount": _euros(refundable)}]
    if errors:
        raise ValidationFailed(_("The refund could not be made."), details=errors)
    number = locked.refunds.count() + 1
    key = f"payment-{locked.pk}-refund-{number}"
    plugin = registry[locked.provider]
    try:
        provider_reference = plugin.refund(
            payment=locked, amount_cents=amount_cents, idempotency_key=key,
            metadata={"case": locked.case.reference, "payment": str(locked.pk),
                      "refund": str(number)})
    except stripe_api.StripeUnavailable as exc:
        raise ProviderUnavailable(_("The payment provider is unavailable. "
                                    "Please try again in a few minutes.")) from exc
    except (stripe_api.StripeRejected, stripe_api.CardDeclined) as exc:
        raise Conflict(_("The payment provider refused the refund: %(error)s")
                       % {"error": str(exc)}, code="refund_refused") from exc
    refund = Refund.objects.create(payment=locked, amount_cents=amount_cents, reason=reason,
                                   actor=actor, provider_reference=provider_reference,
                                   idempotency_key=key)
    before = locked.state
    locked.refunded_cents += amount_cents
    locked.state = (PaymentState.REFUNDED if locked.refunded_cents == locked.amount_cents
                    else PaymentState.PARTIALLY_REFUNDED)
    locked.save(update_fields=["refunded_cents", "state", "updated_at"])
    _event(payment=locked, kind=EventKind.REFUNDED, from_state=before, to_state=locked.state,
           amount_cents=-amount_cents, actor=actor, note=reason)
    try:
        with transaction.atomic():
            crm_services.case_add_note(
                case=locked.case, author=actor,
                body=_("Refund of %(amount)s (payment %(payment)s): %(reason)s")
                % {"amount": _euros(amount_cents), "payment": payment_reference(locked),
                   "reason": reason})
    except NotAllowed:
        # Staff with the refund permission but no role on the case: the payment ledger
        # (actor, amount, reason) is the audit record.
        pass
    log.info("payment.refunded", payment=locked.pk, case=locked.case.reference,
             amount=amount_cents, actor=actor.pk)
    return refund


# --- the counter ----------------------------------------------------------------------------


def payment_record_counter(*, case: Case, provider: str, amount_cents: int,
                           agent: User) -> Payment:
    """The counter agent took the fee in cash or by card at the desk.

    The amount must be exactly the procedure's counter fee: the agent types what was taken, and a
    mismatch is refused rather than silently corrected. A pending online attempt is cancelled
    at the provider so the citizen cannot pay twice.
    """
    if not can_record_counter(agent):
        raise NotAllowed(_("Only a counter agent can record a payment at the counter."))
    if provider not in COUNTER_PROVIDERS:
        raise ValidationFailed(_("Choose cash or card."),
                               details={"provider": [_("Choose cash or card.")]})
    if case.state != AWAITING_PAYMENT:
        raise Conflict(_("This request is not waiting for a payment."), code="not_awaiting")
    fee = case.procedure.fee_for("counter")
    if fee <= 0:
        raise Conflict(_("This request has no fee to pay at the counter."), code="no_fee")
    if amount_cents != fee:
        raise ValidationFailed(
            _("The amount does not match the fee."),
            details={"amount": [_("The fee for this procedure at the counter is %(fee)s.")
                                % {"fee": _euros(fee)}]})
    for pending in Payment.objects.filter(case=case, state=PaymentState.PENDING):
        registry[pending.provider].cancel(payment=pending)
        payment_settle(payment=pending, source=SettleSource.COUNTER, actor=agent,
                       provider_state=ProviderStatus(state=ProviderState.CANCELLED,
                                                     error_message="paid at the counter"))
    return _payment_record_counter(case=case, provider=provider, amount_cents=amount_cents,
                                   agent=agent)


@transaction.atomic
def _payment_record_counter(*, case: Case, provider: str, amount_cents: int,
                            agent: User) -> Payment:
    # An online attempt that succeeded meanwhile wins: _payment_create refuses a second one.
    payment, _created = _payment_create(case=case, provider=provider, amount_cents=amount_cents,
                                        channel="counter", recorded_by=agent)
    payment.provider_reference = f"counter-{payment.pk}"
    payment.receipt_number = f"R{timezone.localdate():%Y}-{payment.pk:07d}"
    payment.save(update_fields=["provider_reference", "receipt_number", "updated_at"])
    _event(payment=payment, kind=EventKind.COUNTER, actor=agent, amount_cents=amount_cents,
           note=str(registry[provider].verbose_name))
    return payment_settle(payment=payment, source=SettleSource.COUNTER, actor=agent,
                          provider_state=ProviderStatus(state=ProviderState.SUCCEEDED,
                                                        reference=payment.provider_reference,
                                                        amount_cents=amount_cents))
