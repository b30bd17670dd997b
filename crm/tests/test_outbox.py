"""The outbox: side effects survive a broker outage and run exactly once."""

from __future__ import annotations

import contextlib
import logging
import os
import time

import pytest
from django.core import mail

from core.testing import IN_CI
from crm import outbox
from crm.constants import Topic
from crm.emails import send_notification
from crm.models import Case, OutboxMessage
from crm.outbox import Route, outbox_relay, outbox_relay_all, outbox_write
from crm.tests import factories as f
from identity.constants import AssuranceLevel


def _redis_url() -> str:
    url = os.environ.get("REDIS_URL", "")
    if not url:
        message = "the broker outage test needs a real Redis: set REDIS_URL"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return url


@contextlib.contextmanager
def celery_through_broker(url: str):
    """The Celery app publishing to `url` for real (not eagerly), restored afterwards."""
    from config.celery import app

    saved = (app.conf.broker_url, app.conf.task_always_eager)
    app.conf.task_always_eager = False
    _switch_broker(app, url)
    try:
        yield app
    finally:
        app.conf.task_always_eager = saved[1]
        _switch_broker(app, saved[0])


def _switch_broker(app, url: str) -> None:
    # Celery caches the connection pool and the producer pool built from broker_url.
    app.conf.broker_url = url
    app._pool = None
    app.amqp._producer_pool = None


@pytest.mark.django_db(transaction=True)
def test_requests_accepted_while_the_broker_is_down_are_notified_once_it_is_back(
        citizen, procedure, queue):
    from celery.contrib.testing.worker import start_worker

    import crm.tasks  # noqa: F401 - registers the tasks with the app
    from crm.services import case_submit

    redis_url = _redis_url()
    procedure.one_open_case_per_person = False
    procedure.save()
    mail.outbox = []
    # 1. the broker is unreachable (a closed port): requests are still accepted
    with celery_through_broker("redis://127.0.0.1:1/0"):
        cases = [case_submit(procedure=procedure, requester=citizen, channel="web",
                             data={"purpose": f"request {i}"},
                             assurance_level=AssuranceLevel.SUBSTANTIAL)
                 for i in range(3)]
        assert Case.objects.count() == 3
        pending = OutboxMessage.objects.filter(dispatched_at__isnull=True)
        assert pending.count() == 6  # one e-mail and one index update per request
        # each request's relay tried right after its commit, failed at once, recorded why
        assert pending.filter(attempts=1, last_error__contains="111").count() == 6
        result = outbox_relay_all()  # beat runs meanwhile: still down, nothing lost
        assert result.dispatched == 0 and pending.count() == 6
    assert mail.outbox == []

    # 2. the broker is back: the relay publishes every row, a worker runs them
    with celery_through_broker(redis_url) as app:
        with app.connection_for_write() as conn:
            conn.default_channel.queue_purge(app.conf.task_default_queue)
        result = outbox_relay_all()
        assert result.dispatched == 6
        assert not OutboxMessage.objects.filter(dispatched_at__isnull=True).exists()
        # the same notification published twice (a relay retried after a lost commit)
        duplicate = OutboxMessage.objects.filter(topic=Topic.CASE_NOTIFY).first()
        with app.connection_for_write() as conn:
            crm.tasks.case_notify.apply_async(args=[duplicate.dedup_key], connection=conn)
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
            deadline = time.monotonic() + 60
            notify = OutboxMessage.objects.filter(topic=Topic.CASE_NOTIFY)
            while notify.filter(processed_at__isnull=True).exists():
                assert time.monotonic() < deadline, "the worker did not process the rows"
                time.sleep(0.2)
            time.sleep(1)  # let the duplicate message run too
    references = sorted(c.reference for c in cases)
    sent = sorted(m.extra_headers["X-Guichet-Case"] for m in mail.outbox)
    assert sent == references  # each request notified exactly once


@pytest.mark.django_db
def test_notification_task_is_idempotent(queue):
    case = f.CaseFactory(queue=queue)
    outbox_write(topic=Topic.CASE_NOTIFY, payload={"case_id": case.pk, "kind": "message"},
                 dedup_key="k1")
    row = OutboxMessage.objects.get(dedup_key="k1")
    assert send_notification(outbox_key="k1") is True
    assert send_notification(outbox_key="k1") is False
    assert len(mail.outbox) == 1
    row.refresh_from_db()
    assert row.processed_at is not None


@pytest.mark.django_db
def test_case_without_email_is_processed_without_sending(db):
    person = f.PersonFactory()
    case = f.CaseFactory(requester=None, person=person)
    outbox_write(topic=Topic.CASE_NOTIFY, payload={"case_id": case.pk, "kind": "submitted"},
                 dedup_key="k2")
    assert send_notification(outbox_key="k2") is False
    assert mail.outbox == []


@pytest.mark.django_db
def test_same_dedup_key_is_written_once(db):
    outbox_write(topic=Topic.SEARCH_INDEX, payload={"case_id": 1}, dedup_key="same")
    outbox_write(topic=Topic.SEARCH_INDEX, payload={"case_id": 2}, dedup_key="same")
    assert OutboxMessage.objects.get(dedup_key="same").payload == {"case_id": 1}


@pytest.mark.django_db
def test_rows_of_a_missing_task_stay_pending_with_an_error_and_do_not_block(
        monkeypatch, caplog, queue):
    monkeypatch.setitem(outbox.ROUTES, "ghost.topic",
                        Route("nowhere.tasks.ghost", lambda row: [row.pk]))
    case = f.CaseFactory(queue=queue)
    outbox_write(topic="ghost.topic", payload={}, dedup_key="ghost")
    outbox_write(topic=Topic.SEARCH_INDEX, payload={"case_id": case.pk}, dedup_key="index")
    with caplog.at_level(logging.ERROR, logger="crm.outbox"):
        result = outbox_relay()
    assert result.dispatched == 1 and result.unroutable == 1
    ghost = OutboxMessage.objects.get(dedup_key="ghost")
    assert ghost.dispatched_at is None
    assert "nowhere.tasks.ghost is not installed" in ghost.last_error
    assert "nowhere.tasks.ghost" in caplog.text
    assert OutboxMessage.objects.get(dedup_key="index").dispatched_at is not None


@pytest.mark.django_db
def test_document_issue_goes_to_the_signing_task(queue, monkeypatch):
    """The relay routes document.issue to signing.tasks.document_issue (signing owns it);
    here the task is replaced by a recorder because sealing is tested in signing."""
    calls = []

    class Recorder:
        def apply_async(self, *, args, **kwargs):
            calls.append(args)

    monkeypatch.setattr(outbox, "resolve_task",
                        lambda name: Recorder() if name == "signing.tasks.document_issue"
                        else None)
    outbox_write(topic=Topic.DOCUMENT_ISSUE, payload={"case_id": 42}, dedup_key="doc")
    assert outbox_relay().dispatched == 1
    assert calls == [[42]]


@pytest.mark.django_db
def test_relay_after_commit_dispatches_the_rows_of_the_transaction_only(
        queue, django_capture_on_commit_callbacks):
    case = f.CaseFactory(queue=queue)
    OutboxMessage.objects.create(topic=Topic.SEARCH_INDEX, payload={"case_id": case.pk},
                                 dedup_key="written-elsewhere")  # waits for beat
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        outbox_write(topic=Topic.SEARCH_INDEX, payload={"case_id": case.pk},
                     dedup_key="this-transaction")
    assert len(callbacks) == 1
    assert OutboxMessage.objects.get(dedup_key="this-transaction").dispatched_at is not None
    assert OutboxMessage.objects.get(dedup_key="written-elsewhere").dispatched_at is None


@pytest.mark.django_db(transaction=True)
def test_development_relay_thread_dispatches_pending_rows(queue):
    case = f.CaseFactory(queue=queue)
    OutboxMessage.objects.create(topic=Topic.SEARCH_INDEX, payload={"case_id": case.pk},
                                 dedup_key="dev-relay")
    stop = outbox.start_dev_relay(interval=0.1)
    try:
        deadline = time.monotonic() + 20
        while OutboxMessage.objects.get(dedup_key="dev-relay").dispatched_at is None:
            assert time.monotonic() < deadline, "the development relay did not run"
            time.sleep(0.1)
    finally:
        stop.set()
        time.sleep(0.3)  # let the thread notice and close its connection
