"""Notification e-mails to the citizen, in the language of the case.

Sent by the `crm.tasks.case_notify` task for one outbox row. The row is locked and stamped
`processed_at` in the same transaction as the send, so a duplicated or retried task finds it
processed and sends nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core.i18n import localized_attr
from crm.constants import Notification
from crm.models import Case, CaseMessage, OutboxMessage

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


@transaction.atomic
def send_notification(*, outbox_key: str) -> bool:
    """Send the e-mail of the outbox row `outbox_key` (its dedup key) unless it was already
    sent. True if sent."""
    row = OutboxMessage.objects.select_for_update().filter(dedup_key=outbox_key).first()
    if row is None or row.processed_at is not None:
        return False
    case = (Case.objects.select_related("procedure", "requester", "person__account")
            .filter(pk=row.payload.get("case_id")).first())
    sent = False
    if case is None:
        logger.warning("notification %s: case %s is gone", row.pk, row.payload.get("case_id"))
    elif (to := recipient_of(case)) is None:
        logger.info("notification %s: case %s has no e-mail address", row.pk, case.reference)
    else:
        build_notification(case, row.payload.get("kind", ""), row.payload, to).send()
        sent = True
    row.processed_at = timezone.now()
    row.save(update_fields=["processed_at"])
    return sent
