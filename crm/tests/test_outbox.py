"""The outbox: side effects survive a broker outage and run exactly once."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
import logging
import os
import time

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

import crm.tasks
from core.testing import IN_CI
from crm import outbox
from crm.constants import Topic
from crm.emails import send_notification
from crm.models import Case, OutboxMessage
from crm.outbox import Route, outbox_relay, outbox_relay_all, outbox_write
from crm.tasks import outbox_process
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


def _published(app, queue: str) -> list[tuple[str, list]]:
    """The (task name, args) of the messages waiting in `queue`, oldest first, taken off."""
    import redis

    client = redis.Redis.from_url(app.conf.broker_url)
    raw = client.lrange(queue, 0, -1)
    client.delete(queue)
    messages = [json.loads(item) for item in reversed(raw)]
    return [(m["headers"]["task"], json.loads(base64.b64decode(m["body"]))[0])
            for m in messages]


def _backdate(seconds: float, **filters) -> None:
    """Pretend the outbox rows matching `filters` were written `seconds` ago."""
    for row in OutboxMessage.objects.filter(**filters):
        OutboxMessage.objects.filter(pk=row.pk).update(
            created_at=row.created_at - dt.timedelta(seconds=seconds))


@pytest.mark.django_db(transaction=True)
def test_requests_accepted_while_the_broker_is_down_are_notified_once_it_is_back(
        citizen, procedure, queue):
    from celery.contrib.testing.worker import start_worker

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
        # the same rows published twice (beat again after a lost message, or a redelivery)
        keys = list(OutboxMessage.objects.values_list("dedup_key", flat=True))
        duplicate = OutboxMessage.objects.filter(topic=Topic.CASE_NOTIFY).first()
        with app.connection_for_write() as conn:
            outbox_process.apply_async(args=[keys], connection=conn)
            crm.tasks.case_notify.apply_async(args=[duplicate.dedup_key], connection=conn)
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
            deadline = time.monotonic() + 60
            while OutboxMessage.objects.filter(processed_at__isnull=True).exists():
                assert time.monotonic() < deadline, "the worker did not process the rows"
                time.sleep(0.2)
            time.sleep(1)  # let the duplicate messages run too
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
            raise AssertionError("the batch task runs the task in its own process")

        def __call__(self, *args):
            calls.append(list(args))

    monkeypatch.setattr(outbox, "resolve_task",
                        lambda name: Recorder() if name == "signing.tasks.document_issue"
                        else None)
    outbox_write(topic=Topic.DOCUMENT_ISSUE, payload={"case_id": 42}, dedup_key="doc")
    assert outbox_relay().dispatched == 1
    assert calls == [[42]]
    assert OutboxMessage.objects.get(dedup_key="doc").processed_at is not None


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
    assert OutboxMessage.objects.get(dedup_key="this-transaction").processed_at is not None
    assert OutboxMessage.objects.get(dedup_key="written-elsewhere").processed_at is None


@pytest.mark.django_db(transaction=True)
def test_development_relay_thread_dispatches_pending_rows(queue):
    case = f.CaseFactory(queue=queue)
    OutboxMessage.objects.create(topic=Topic.SEARCH_INDEX, payload={"case_id": case.pk},
                                 dedup_key="dev-relay")
    _backdate(outbox.grace_seconds() + 1, dedup_key="dev-relay")  # beat's grace is over
    stop = outbox.start_dev_relay(interval=0.1)
    try:
        deadline = time.monotonic() + 20
        while OutboxMessage.objects.get(dedup_key="dev-relay").processed_at is None:
            assert time.monotonic() < deadline, "the development relay did not run"
            time.sleep(0.1)
    finally:
        stop.set()
        time.sleep(0.3)  # let the thread notice and close its connection


@pytest.mark.django_db
def test_a_submit_publishes_one_message_naming_its_rows_and_writes_nothing_after_commit(
        citizen, procedure, queue, django_capture_on_commit_callbacks):
    from crm.services import case_submit

    redis_url = _redis_url()
    with celery_through_broker(redis_url) as app:
        _published(app, app.conf.task_default_queue)  # start from an empty queue
        with django_capture_on_commit_callbacks() as callbacks:
            case = case_submit(procedure=procedure, requester=citizen, channel="web",
                               data={"purpose": "one message"},
                               assurance_level=AssuranceLevel.SUBSTANTIAL)
        with CaptureQueriesContext(connection) as queries:
            for callback in callbacks:
                callback()
        messages = _published(app, app.conf.task_default_queue)
    keys = sorted(OutboxMessage.objects.filter(payload__case_id=case.pk)
                  .values_list("dedup_key", flat=True))
    assert len(keys) == 2  # the confirmation e-mail and the search index
    assert [(task, sorted(args[0])) for task, args in messages] == [
        ("crm.tasks.outbox_process", keys)]
    assert queries.captured_queries == []  # no "dispatched" stamp in the request
    assert not OutboxMessage.objects.filter(dispatched_at__isnull=False).exists()


@pytest.mark.django_db
def test_rows_of_a_task_routed_to_its_own_queue_are_published_to_that_queue(
        queue, monkeypatch, django_capture_on_commit_callbacks):
    redis_url = _redis_url()
    case = f.CaseFactory(queue=queue)
    with celery_through_broker(redis_url) as app:
        saved = app.conf.task_routes
        app.conf.task_routes = {"signing.tasks.document_issue": {"queue": "test-signing"}}
        app.amqp.__dict__.pop("router", None)  # Celery builds its router once
        app.amqp._rtable = None
        monkeypatch.setattr(outbox, "_queues", {})
        try:
            for name in (app.conf.task_default_queue, "test-signing"):
                _published(app, name)
            with django_capture_on_commit_callbacks(execute=True):
                outbox.outbox_write_many([
                    (Topic.DOCUMENT_ISSUE, {"case_id": case.pk}, "routed-doc"),
                    (Topic.SEARCH_INDEX, {"case_id": case.pk}, "routed-index")])
            default = _published(app, app.conf.task_default_queue)
            signing = _published(app, "test-signing")
        finally:
            app.conf.task_routes = saved
            app.amqp.__dict__.pop("router", None)
            app.amqp._rtable = None
    assert default == [("crm.tasks.outbox_process", [["routed-index"]])]
    assert signing == [("crm.tasks.outbox_process", [["routed-doc"]])]


@pytest.mark.django_db
def test_beat_publishes_again_only_rows_unprocessed_past_the_grace_period(queue, settings):
    redis_url = _redis_url()
    case = f.CaseFactory(queue=queue)
    for key in ("fresh", "late", "done"):
        OutboxMessage.objects.create(topic=Topic.SEARCH_INDEX, payload={"case_id": case.pk},
                                     dedup_key=key)
    _backdate(61, dedup_key__in=["late", "done"])
    OutboxMessage.objects.filter(dedup_key="done").update(processed_at=timezone.now())
    settings.CRM_OUTBOX_GRACE_SECONDS = 60
    with celery_through_broker(redis_url) as app:
        default = app.conf.task_default_queue
        _published(app, default)
        # beat: only the row past the grace period that no worker processed
        assert crm.tasks.outbox_relay()["dispatched"] == 1
        assert _published(app, default) == [("crm.tasks.outbox_process", [["late"]])]
        late = OutboxMessage.objects.get(dedup_key="late")
        assert late.dispatched_at is not None
        # just published: beat leaves it another grace period, however often it runs
        assert crm.tasks.outbox_relay()["dispatched"] == 0
        assert _published(app, default) == []
        # still unprocessed a grace period later (the message was lost): published again
        OutboxMessage.objects.filter(pk=late.pk).update(
            dispatched_at=late.dispatched_at - dt.timedelta(seconds=61))
        assert crm.tasks.outbox_relay()["dispatched"] == 1
        assert _published(app, default) == [("crm.tasks.outbox_process", [["late"]])]
        # a worker processes it at last; with nothing published after commits, beat takes
        # new rows at once
        OutboxMessage.objects.filter(pk=late.pk).update(processed_at=timezone.now())
        settings.CRM_OUTBOX_RELAY_ON_COMMIT = False
        assert crm.tasks.outbox_relay()["dispatched"] == 1
        assert _published(app, default) == [("crm.tasks.outbox_process", [["fresh"]])]


@pytest.fixture
def indexed(monkeypatch) -> list:
    """The cases the search index task is asked to refresh, in order."""
    from wagtail.search import index

    calls: list = []
    monkeypatch.setattr(index, "insert_or_update_object", calls.append)
    return calls


def _notify_and_index(case, prefix: str) -> list[str]:
    """Write an e-mail row and an index row of `case` (not published: the test delivers)."""
    keys = [f"{prefix}-notify", f"{prefix}-index"]
    outbox.outbox_write_many([
        (Topic.CASE_NOTIFY, {"case_id": case.pk, "kind": "message"}, keys[0]),
        (Topic.SEARCH_INDEX, {"case_id": case.pk}, keys[1])])
    return keys


@pytest.mark.django_db
def test_a_message_delivered_twice_carries_out_each_row_once(queue, indexed):
    case = f.CaseFactory(queue=queue)
    keys = _notify_and_index(case, "twice")
    outbox_process.apply(args=[keys])  # delivered, as a worker runs it
    outbox_process.apply(args=[keys])  # and delivered again
    assert len(mail.outbox) == 1
    assert [c.pk for c in indexed] == [case.pk]
    assert not OutboxMessage.objects.filter(dedup_key__in=keys,
                                            processed_at__isnull=True).exists()


@pytest.mark.django_db
def test_a_row_that_fails_is_retried_alone_and_the_others_are_not_run_again(
        queue, indexed, monkeypatch):
    from django.core.mail.backends.locmem import EmailBackend

    case = f.CaseFactory(queue=queue)
    _notify_and_index(case, "retry")

    def smtp_down(self, messages):
        raise ConnectionRefusedError("SMTP down")

    with monkeypatch.context() as patch:
        patch.setattr(EmailBackend, "send_messages", smtp_down)
        failed, error = outbox.outbox_process_rows(["retry-notify", "retry-index"])
    assert failed == ["retry-notify"] and isinstance(error, OSError)
    assert OutboxMessage.objects.get(dedup_key="retry-notify").processed_at is None
    assert OutboxMessage.objects.get(dedup_key="retry-index").processed_at is not None
    assert outbox.outbox_process_rows(["retry-notify", "retry-index"]) == ([], None)
    assert len(mail.outbox) == 1 and len(indexed) == 1


@pytest.mark.django_db(transaction=True)
def test_the_same_message_run_by_two_workers_at_once_carries_out_each_row_once(
        queue, monkeypatch):
    """Two deliveries of one message run together, in threads with their own database
    connections: the row lock makes the second wait and find the rows processed."""
    import threading

    from django.db import connection as db
    from wagtail.search import index

    if db.vendor != "postgresql":
        message = "the row lock of the outbox is tested on PostgreSQL (set DATABASE_URL)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    indexed = []

    def slow_index(case):  # long enough for the other worker to arrive meanwhile
        time.sleep(0.3)
        indexed.append(case.pk)

    monkeypatch.setattr(index, "insert_or_update_object", slow_index)
    case = f.CaseFactory(queue=queue)
    keys = ["both-index", "both-notify"]
    OutboxMessage.objects.bulk_create([  # written, not published (no on-commit relay)
        OutboxMessage(topic=Topic.SEARCH_INDEX, payload={"case_id": case.pk},
                      dedup_key="both-index"),
        OutboxMessage(topic=Topic.CASE_NOTIFY, payload={"case_id": case.pk, "kind": "message"},
                      dedup_key="both-notify")])

    def worker() -> None:
        try:
            outbox.outbox_process_rows(keys)
        finally:
            db.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    outbox.outbox_process_rows(keys)  # a retry finishes what a busy database refused
    assert indexed == [case.pk]
    assert len(mail.outbox) == 1
    assert not OutboxMessage.objects.filter(dedup_key__in=keys,
                                            processed_at__isnull=True).exists()
