"""Celery tasks of the signing app: they take ids and call one service."""

from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger("signing.tasks")


# No result is stored (nobody reads it): the document is on the case.
@shared_task(name="signing.tasks.document_issue", bind=True, acks_late=True, ignore_result=True,
             autoretry_for=(OSError,), retry_backoff=True, retry_backoff_max=300,
             max_retries=8)
def document_issue(self, case_id: int) -> int | None:
    """Issue the sealed document of a case (routed from crm's "document.issue" outbox rows).

    Idempotent: retries and duplicate messages return the document already issued.
    A seal key or TSA that is unavailable raises and the task is retried with backoff.
    The worker process keeps its seal key loaded between documents (signing.backends).
    """
    from crm.models import Case
    from signing import services
    from signing.pdf_seal import SealError

    try:
        # The service reads (and locks) the case itself: no separate lookup here.
        document = services.document_issue(case_id=case_id)
    except Case.DoesNotExist:
        logger.warning("document_issue: case %s does not exist", case_id)
        return None
    except services.DocumentNotIssuable:
        logger.info("document_issue: case %s is not approved; nothing to issue", case_id)
        return None
    except SealError as exc:
        raise self.retry(exc=exc) from exc
    return document.pk


# Alias under the name used in the contract prose (document_issue_task).
document_issue_task = document_issue
