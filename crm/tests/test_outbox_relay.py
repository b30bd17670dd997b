"""The relay process (CRM_OUTBOX_RELAY_ON_COMMIT off, the production set-up): requests never
talk to the broker; `manage.py outbox_relay` publishes what they committed, once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from crm import outbox
from crm.models import OutboxMessage
from crm.outbox import relay_new, relay_run
from crm.tests import factories as f
from crm.tests.test_outbox import _published, _redis_url, celery_through_broker
from identity.constants import AssuranceLevel

ROOT = Path(__file__).resolve().parents[2]


def _submit(procedure, citizen, n: int) -> list:
    from crm.services import case_submit

    return [case_submit(procedure=procedure, requester=citizen, channel="web",
                        data={"purpose": f"request {i}"},
                        assurance_level=AssuranceLevel.SUBSTANTIAL) for i in range(n)]


def _keys_of(cases) -> list[str]:
    return sorted(OutboxMessage.objects.filter(payload__case_id__in=[c.pk for c in cases])
                  .values_list("dedup_key", flat=True))


def _wait_all_published(seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while OutboxMessage.objects.filter(dispatched_at__isnull=True).exists():
        assert time.monotonic() < deadline, "the relay did not publish the rows"
        time.sleep(0.02)


@pytest.fixture
def relay_mode(settings, procedure):
    settings.CRM_OUTBOX_RELAY_ON_COMMIT = False
    procedure.one_open_case_per_person = False
    procedure.save()


@pytest.mark.django_db
def test_a_request_writes_its_rows_and_leaves_the_broker_alone(
        relay_mode, citizen, procedure, queue, django_capture_on_commit_callbacks):
    # the broker is unreachable: the request does not even try it
    with (celery_through_broker("redis://127.0.0.1:1/0"),
          django_capture_on_commit_callbacks() as callbacks):
        cases = _submit(procedure, citizen, 2)
    assert callbacks == []
    rows = OutboxMessage.objects.filter(payload__case_id__in=[c.pk for c in cases])
    assert rows.count() == 4
    assert not rows.filter(attempts__gt=0).exists()  # nothing tried, nothing failed
    assert not rows.filter(dispatched_at__isnull=False).exists()


@pytest.mark.django_db
def test_a_pass_publishes_the_new_rows_once_in_one_message_and_stamps_them(
        relay_mode, citizen, procedure, queue):
    redis_url = _redis_url()
    cases = _submit(procedure, citizen, 3)
    with celery_through_broker(redis_url) as app:
        default = app.conf.task_default_queue
        _published(app, default)
        result = relay_new()
        assert result.dispatched == 6 and result.failed == 0
        messages = _published(app, default)
        # published already: another pass (or another relay) finds nothing to publish
        assert relay_new().dispatched == 0
        assert _published(app, default) == []
    assert [(task, sorted(args[0])) for task, args in messages] == [
        ("crm.tasks.outbox_process", _keys_of(cases))]
    assert not OutboxMessage.objects.filter(dispatched_at__isnull=True).exists()


@pytest.mark.django_db
def test_a_pass_leaves_rows_published_before_and_rows_of_missing_tasks_to_beat(
        monkeypatch, relay_mode, queue):
    redis_url = _redis_url()
    monkeypatch.setitem(outbox.ROUTES, "ghost.topic",
                        outbox.Route("nowhere.tasks.ghost", lambda row: [row.pk]))
    case = f.CaseFactory(queue=queue)
    OutboxMessage.objects.create(topic="ghost.topic", payload={}, dedup_key="ghost")
    OutboxMessage.objects.create(topic="search.index", payload={"case_id": case.pk},
                                 dedup_key="old", dispatched_at=timezone.now())
    with celery_through_broker(redis_url) as app:
        _published(app, app.conf.task_default_queue)
        assert relay_new().dispatched == 0
        assert _published(app, app.conf.task_default_queue) == []
    ghost = OutboxMessage.objects.get(dedup_key="ghost")
    assert ghost.dispatched_at is None and ghost.attempts == 0  # beat records the error


@pytest.mark.django_db
def test_a_pass_while_the_broker_is_down_keeps_the_rows_with_the_error(
        relay_mode, citizen, procedure, queue):
    redis_url = _redis_url()
    cases = _submit(procedure, citizen, 2)
    with celery_through_broker("redis://127.0.0.1:1/0"):
        result = relay_new()
    assert result.dispatched == 0 and result.failed == 4
    rows = OutboxMessage.objects.filter(dedup_key__in=_keys_of(cases))
    assert not rows.filter(dispatched_at__isnull=False).exists()  # the stamps rolled back
    assert rows.filter(attempts=1, last_error__contains="111").count() == 4
    with celery_through_broker(redis_url) as app:  # back: the next pass publishes them
        _published(app, app.conf.task_default_queue)
        assert relay_new().dispatched == 4
        assert len(_published(app, app.conf.task_default_queue)) == 1


@pytest.mark.django_db(transaction=True)
def test_the_relay_loop_publishes_what_requests_commit_while_it_runs(
        relay_mode, citizen, procedure, queue):
    redis_url = _redis_url()
    with celery_through_broker(redis_url) as app:
        default = app.conf.task_default_queue
        _published(app, default)
        stop = threading.Event()
        thread = threading.Thread(target=relay_run, kwargs={"stop": stop, "interval": 0.02})
        thread.start()
        try:
            cases = _submit(procedure, citizen, 5)
            _wait_all_published()
        finally:
            stop.set()
            thread.join(timeout=10)
        assert not thread.is_alive()
        published = sorted(key for _task, args in _published(app, default) for key in args[0])
    assert published == _keys_of(cases)  # every row, each once


@pytest.mark.django_db(transaction=True)
def test_manage_py_outbox_relay_runs_as_a_process_and_stops_on_sigterm(
        relay_mode, citizen, procedure, queue):
    if connection.vendor != "postgresql":
        pytest.skip("the process needs the test database over the network (PostgreSQL)")
    redis_url = _redis_url()
    db = connection.settings_dict
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test",
           "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
           "REDIS_URL": redis_url, "CELERY_TASK_ALWAYS_EAGER": "false",
           "CELERY_BROKER_URL": redis_url, "CRM_OUTBOX_RELAY_INTERVAL_MS": "20"}
    with celery_through_broker(redis_url) as app:
        default = app.conf.task_default_queue
        _published(app, default)
        proc = subprocess.Popen([sys.executable, "manage.py", "outbox_relay"], cwd=ROOT,
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        try:
            assert "running" in proc.stdout.readline()
            cases = _submit(procedure, citizen, 2)
            _wait_all_published()
        finally:
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert "stopped" in out
        published = sorted(key for _task, args in _published(app, default) for key in args[0])
    assert published == _keys_of(cases)


@pytest.mark.django_db
def test_prepared_statements_run_in_the_current_transaction(queue):
    from core.db import prepared_cursor

    rename = "UPDATE crm_queue SET name = %(name)s WHERE id = %(id)s"  # types from columns
    with CaptureQueriesContext(connection) as queries, prepared_cursor() as cursor:
        cursor.execute(rename, {"name": "kept", "id": queue.pk})
    logged = [q["sql"] for q in queries.captured_queries]  # in the query log, readable
    assert len(logged) == 1 and logged[0].startswith("UPDATE crm_queue SET name = ")
    if connection.vendor == "postgresql" and django_settings.DATABASES["default"][
            "OPTIONS"].get("prepare_threshold") is not None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT statement FROM pg_prepared_statements")
            statements = [row[0] for row in cursor.fetchall()]
        assert any("UPDATE crm_queue SET name" in s for s in statements)
    with transaction.atomic():
        with prepared_cursor() as cursor:
            cursor.execute(rename, {"name": "rolled back", "id": queue.pk})
        transaction.set_rollback(True)
    queue.refresh_from_db()
    assert queue.name == "kept"
