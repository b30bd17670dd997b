"""Notification e-mails: to the citizen, in the language of the case; to the supervisors
of a department (a case overdue or escalated), each in their own language.

Sent by the `crm.tasks.case_notify` task for one outbox row. The row is locked and stamped
`processed_at` in the same transaction as the send, so a duplicated or retried task finds it
processed and sends nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from core.i18n import localized_attr
from crm import sla
from crm.constants import Notification, StaffNotification
from crm.models import Case, CaseEvent, CaseMessage, OutboxMessage

logger = logging.getLogger("crm.emails")


def _subjects() -> dict[str, str]:
    return {
        Notification.SUBMITTED: _("We received your request %(reference)s"),
        Notification.AWAITING_PAYMENT: _("Your request %(reference)s is waiting for payment"),
        Notification.INFORMATION_REQUESTED: _("We need more information for %(reference)s"),
        Notification.MESSAGE: _("New message about your request %(reference)s"),
        Notification.APPROVED: _("Your request %(reference)s is approved"),
        Notification.REJECTED: _("Your request %(reference)s was refused"),
        Notification.ISSUED: _("Your document for %(reference)s is ready"),
        Notification.CANCELLED: _("Your request %(reference)s is cancelled"),
        Notification.CLOSED: _("Your request %(reference)s is closed"),
    }


def _intros(case: Case) -> dict[str, str]:
    fee = f"{case.fee_cents / 100:.2f} €".replace(".", ",")
    submitted = _("We received your request for “%(procedure)s”.")
    if case.fee_cents:
        submitted += " " + _("It will be processed once the fee of %(fee)s is paid.")
    return {
        Notification.SUBMITTED: submitted,
        Notification.AWAITING_PAYMENT: _("Your request for “%(procedure)s” will be processed "
                                         "once the fee of %(fee)s is paid."),
        Notification.INFORMATION_REQUESTED: _("To handle your request for “%(procedure)s”, "
                                              "we need more information from you. Please "
                                              "answer on your request page."),
        Notification.MESSAGE: _("You have a new message about your request for "
                                "“%(procedure)s”."),
        Notification.APPROVED: _("Your request for “%(procedure)s” is approved."),
        Notification.REJECTED: _("Your request for “%(procedure)s” was refused."),
        Notification.ISSUED: _("The document you requested (“%(procedure)s”) is ready. You "
                               "will find it on your request page and in “My documents”."),
        Notification.CANCELLED: _("Your request for “%(procedure)s” is cancelled."),
        Notification.CLOSED: _("Your request for “%(procedure)s” is completed and closed."),
    }, {"fee": fee}


def case_url(case: Case) -> str:
    """Absolute link to the citizen's page of the case, in the active language."""
    try:
        path = reverse("crm:case_detail", args=[case.reference])
    except NoReverseMatch:
        try:
            path = reverse("crm:my_requests")
        except NoReverseMatch:
            path = "/"
    return settings.SITE_URL.rstrip("/") + path


def recipient_of(case: Case) -> str | None:
    if case.requester_id and case.requester.email:
        return case.requester.email
    account = getattr(case.person, "account", None)
    return account.email if account is not None and account.email else None


def build_notification(case: Case, kind: str, payload: dict[str, Any],
                       to: str) -> EmailMultiAlternatives:
    with translation.override(case.language):
        intros, params = _intros(case)
        params.update(reference=case.reference,
                      procedure=localized_attr(case.procedure, "name", case.language))
        message = None
        if payload.get("message_id"):
            message = CaseMessage.objects.filter(pk=payload["message_id"], case=case).first()
        context = {
            "case": case,
            "kind": kind,
            "intro": intros.get(kind, intros[Notification.MESSAGE]) % params,
            "message": message.body if message else "",
            "reason": payload.get("note", "") if kind == Notification.REJECTED else "",
            "url": case_url(case),
            "reference": case.reference,
            "site_name": settings.WAGTAIL_SITE_NAME,
        }
        subject = _subjects().get(kind, _subjects()[Notification.MESSAGE]) % params
        text = render_to_string("crm/email/notification.txt", context)
        html = render_to_string("crm/email/notification.html", context)
    email = EmailMultiAlternatives(subject=subject, body=text, to=[to],
                                   headers={"X-Guichet-Case": case.reference})
    email.attach_alternative(html, "text/html")
    return email


def _send_once(outbox_key: str, build: Callable[[OutboxMessage], Any]) -> bool:
    """Send the e-mail `build` makes of the outbox row `outbox_key` (its dedup key), unless
    the row was already processed: the row is locked and stamped processed in the same
    transaction as the send, so a duplicated or retried task sends nothing. `build` returns
    None when there is nobody to write to (the row is processed all the same)."""
    with transaction.atomic():
        row = OutboxMessage.objects.select_for_update().filter(dedup_key=outbox_key).first()
        if row is None or row.processed_at is not None:
            return False
        email = build(row)
        if email is not None:
            email.send()
        row.processed_at = timezone.now()
        row.save(update_fields=["processed_at"])
    return email is not None


def send_notification(*, outbox_key: str) -> bool:
    """Send the e-mail of the outbox row `outbox_key` (its dedup key) unless it was already
    sent. True if sent."""
    def build(row: OutboxMessage) -> EmailMultiAlternatives | None:
        case = (Case.objects.select_related("procedure", "requester", "person__account")
                .filter(pk=row.payload.get("case_id")).first())
        if case is None:
            logger.warning("notification %s: case %s is gone", row.pk,
                           row.payload.get("case_id"))
        elif (to := recipient_of(case)) is None:
            logger.info("notification %s: case %s has no e-mail address", row.pk,
                        case.reference)
        else:
            return build_notification(case, row.payload.get("kind", ""), row.payload, to)
        return None

    return _send_once(outbox_key, build)


# --- supervisors ------------------------------------------------------------------------

def _staff_texts(kind: str) -> tuple[str, str]:
    """Subject and opening line of an e-mail to a supervisor, in the active language."""
    if kind == StaffNotification.ESCALATED:
        return (_("Request %(reference)s escalated to you"),
                _("The request %(reference)s (“%(procedure)s”) was escalated to the "
                  "supervisors of its department by %(actor)s."))
    return (_("Request %(reference)s is overdue"),
            _("The request %(reference)s (“%(procedure)s”) has passed its deadline "
              "(%(due)s)."))


def build_staff_notification(case: Case, kind: str, payload: dict[str, Any],
                             user: Any) -> EmailMultiAlternatives:
    """The e-mail to one supervisor, in their language (not the citizen's)."""
    language = user.preferred_language or settings.LANGUAGE_CODE
    with translation.override(language):
        event = (CaseEvent.objects.select_related("actor").filter(
            pk=payload.get("event_id"), case=case).first() if payload.get("event_id") else None)
        actor = event.actor if event is not None and event.actor is not None else None
        subject, intro = _staff_texts(kind)
        due = (date_format(timezone.localtime(case.sla_due_at, sla.TZ), "SHORT_DATETIME_FORMAT")
               if case.sla_due_at else "")
        params = {"reference": case.reference, "due": due,
                  "procedure": localized_attr(case.procedure, "name", language),
                  "actor": (actor.get_full_name() or actor.get_username()) if actor
                  else _("an agent")}
        try:
            path = reverse("crm_admin:case_detail", args=[case.reference])
        except NoReverseMatch:  # pragma: no cover - the back office is always installed
            path = "/admin/"
        context = {
            "case": case, "kind": kind, "language": language,
            "intro": intro % params,
            "note": payload.get("note", ""),
            "queue": case.queue.name if case.queue_id else "",
            "due": due,
            "url": settings.WAGTAILADMIN_BASE_URL.rstrip("/") + path,
            "reference": case.reference,
            "site_name": settings.WAGTAIL_SITE_NAME,
        }
        text = render_to_string("crm/email/staff_notification.txt", context)
        html = render_to_string("crm/email/staff_notification.html", context)
        subject = subject % params
    email = EmailMultiAlternatives(subject=subject, body=text, to=[user.email],
                                   headers={"X-Guichet-Case": case.reference,
                                            "X-Guichet-Staff-Notification": kind})
    email.attach_alternative(html, "text/html")
    return email


def send_staff_notification(*, outbox_key: str) -> bool:
    """Send the e-mail of the outbox row `outbox_key` to its supervisor unless it was
    already sent. True if sent."""
    from identity.models import User

    def build(row: OutboxMessage) -> EmailMultiAlternatives | None:
        case = (Case.objects.select_related("procedure", "queue")
                .filter(pk=row.payload.get("case_id")).first())
        user = User.objects.filter(pk=row.payload.get("user_id"), is_active=True).first()
        if case is None:
            logger.warning("staff notification %s: case %s is gone", row.pk,
                           row.payload.get("case_id"))
        elif user is None or not user.email:
            logger.info("staff notification %s: supervisor %s has no address", row.pk,
                        row.payload.get("user_id"))
        else:
            return build_staff_notification(case, row.payload.get("kind", ""), row.payload,
                                            user)
        return None

    return _send_once(outbox_key, build)
