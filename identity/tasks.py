"""Housekeeping of the identity app."""

from __future__ import annotations

import datetime

from celery import shared_task
from django.utils import timezone

from identity.models import EmailChallenge


@shared_task(name="identity.tasks.purge_email_challenges")
def purge_email_challenges() -> int:
    """One-time e-mail codes are useless once used or expired; their digests are deleted a
    day later (the audit events of the logins stay). Idempotent."""
    cutoff = timezone.now() - datetime.timedelta(days=1)
    deleted, _ = EmailChallenge.objects.filter(expires_at__lt=cutoff).delete()
    return deleted
