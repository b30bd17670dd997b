"""Periodic work of the payments app (scheduled by CELERY_BEAT_SCHEDULE["payments-reconcile"])."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from payments import services


@shared_task(name="payments.tasks.reconcile_pending_payments", ignore_result=True)
def reconcile_pending_payments() -> dict[str, int]:
    """Settle online payments whose webhook never came. Idempotent: settling twice changes
    nothing the second time."""
    return services.payments_reconcile(
        older_than_minutes=settings.PAYMENTS_RECONCILE_AFTER_MINUTES)
