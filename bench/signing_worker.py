"""Celery app for the signing benchmark's worker: the product's app, with document issuing
on its own queue so the worker measured runs only that task (notification e-mails and
search indexing, also queued by crm, belong to other workers). Not shipped."""

from config.celery import app

SIGNING_QUEUE = "bench-signing"
app.conf.task_routes = {"signing.tasks.document_issue": {"queue": SIGNING_QUEUE}}

__all__ = ["app", "SIGNING_QUEUE"]
