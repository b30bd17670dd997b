"""Celery tasks of the CIRM. They take ids, are idempotent and call services."""

from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger("crm.tasks")


@shared_task(name="crm.tasks.outbox_relay", ignore_result=True)
def outbox_relay() -> dict[str, int]:
    """Publish the outbox rows still unprocessed after the grace period (beat, every few
    seconds): written while the broker was down, or whose message was lost."""
    from crm.outbox import relay_periodic

    result = relay_periodic()
    return {"dispatched": result.dispatched, "failed": result.failed,
            "unroutable": result.unroutable}


@shared_task(name="crm.tasks.outbox_process", bind=True, ignore_result=True, max_retries=8)
def outbox_process(self, outbox_keys: list[str]) -> None:
    """Carry out the outbox rows of one transaction (named by dedup key): each row's task
    runs here, in this worker, once (crm.outbox.outbox_process_rows). The rows that failed
    are tried again later in a message of their own; after the last retry beat publishes
    them again once the grace period is over."""
    from crm.outbox import outbox_process_rows

    failed, error = outbox_process_rows(outbox_keys)
    if error is None:
        return
    if self.request.is_eager:  # tests and development: the caller records the error
        raise error
    raise self.retry(args=[failed], exc=error,
                     countdown=min(300, 5 * 2 ** self.request.retries))


@shared_task(name="crm.tasks.case_notify", bind=True, ignore_result=True, max_retries=5,
             default_retry_delay=60)
def case_notify(self, outbox_key: str) -> bool:
    """Send the e-mail of one outbox row, once: a duplicate or retried run finds the row
    already processed and does nothing."""
    from crm.emails import send_notification

    try:
        return send_notification(outbox_key=outbox_key)
    except OSError as exc:  # SMTP down: try again later, the row is still unprocessed
        raise self.retry(exc=exc) from exc


@shared_task(name="crm.tasks.staff_notify", bind=True, ignore_result=True, max_retries=5,
             default_retry_delay=60)
def staff_notify(self, outbox_key: str) -> bool:
    """E-mail one supervisor about a case (overdue, escalated), once per outbox row."""
    from crm.emails import send_staff_notification

    try:
        return send_staff_notification(outbox_key=outbox_key)
    except OSError as exc:  # SMTP down: try again later, the row is still unprocessed
        raise self.retry(exc=exc) from exc


@shared_task(name="crm.tasks.case_index", ignore_result=True)
def case_index(case_id: int) -> None:
    """Refresh the case in the search index (re-indexing is naturally idempotent)."""
    from wagtail.search import index

    from crm.models import Case

    case = Case.objects.filter(pk=case_id).select_related("procedure", "person").first()
    if case is not None:
        index.insert_or_update_object(case)


@shared_task(name="crm.tasks.sla_watch", ignore_result=True)
def sla_watch() -> dict[str, int]:
    from crm.services import cases_flag_sla

    return cases_flag_sla()


@shared_task(name="crm.tasks.drafts_purge", ignore_result=True)
def drafts_purge() -> int:
    from crm.services import drafts_purge_expired

    return drafts_purge_expired()
