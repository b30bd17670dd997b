"""The transactional outbox and its relay.

A service that decides a side effect (an e-mail, a document to seal, a search index update)
writes an OutboxMessage in its own transaction. The relay reads pending rows, publishes each
to its Celery task and stamps `dispatched_at`. It runs:
- right after the transaction that wrote the rows commits (best effort, only those rows), and
- from Celery beat every few seconds (everything still pending: rows written while the
  broker was down, or whose task did not exist yet).

If the broker refuses a message the row stays pending with the error and is retried on the
next run, so a request accepted while Redis is down is processed once it is back. Tasks may
therefore run twice; every task is idempotent (see crm.tasks).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.module_loading import import_string

from crm.constants import Topic
from crm.models import OutboxMessage

logger = logging.getLogger("crm.outbox")


@dataclass(frozen=True)
class Route:
    task_name: str
    args: Callable[[OutboxMessage], list[Any]]


# topic -> Celery task (dotted name). signing owns "signing.tasks.document_issue".
ROUTES: dict[str, Route] = {
    Topic.CASE_NOTIFY: Route("crm.tasks.case_notify", lambda row: [row.dedup_key]),
    Topic.DOCUMENT_ISSUE: Route("signing.tasks.document_issue",
                                lambda row: [row.payload["case_id"]]),
    Topic.SEARCH_INDEX: Route("crm.tasks.case_index", lambda row: [row.payload["case_id"]]),
    Topic.STAFF_NOTIFY: Route("crm.tasks.staff_notify", lambda row: [row.dedup_key]),
}


@dataclass
class RelayResult:
    dispatched: int = 0
    failed: int = 0
    unroutable: int = 0

    @property
    def handled(self) -> int:
        return self.dispatched + self.failed + self.unroutable


def outbox_write(*, topic: str, payload: dict[str, Any], dedup_key: str) -> None:
    """Record a side effect in the current transaction. Writing the same dedup key twice
    records it once (the first payload wins)."""
    outbox_write_many([(topic, payload, dedup_key)])


def outbox_write_many(items: Iterable[tuple[str, dict[str, Any], str]]) -> None:
    rows = [OutboxMessage(topic=topic, payload=payload, dedup_key=key)
            for topic, payload, key in items]
    if not rows:
        return
    OutboxMessage.objects.bulk_create(rows, ignore_conflicts=True)
    publish_on_commit(rows)


def publish_on_commit(rows: list[OutboxMessage]) -> None:
    """Publish `rows`, written in the current transaction, right after it commits (at once
    in autocommit: the statement that wrote them has committed)."""
    if rows and getattr(settings, "CRM_OUTBOX_RELAY_ON_COMMIT", True):
        # Dropped with the transaction if it rolls back: only committed rows are published.
        transaction.on_commit(lambda: _publish_committed(rows))


def _publish_committed(rows: list[OutboxMessage]) -> None:
    """Right after the commit, publish the rows just written, from memory, and stamp them
    dispatched in one UPDATE: no lock, one statement. Beat may publish one of them again in
    the meantime; tasks are idempotent, so at worst a message is delivered twice and does its
    work once. Best effort: on any failure the rows stay pending for beat."""
    try:
        tasks = {row.topic: resolve_task(ROUTES[row.topic].task_name)
                 for row in rows if row.topic in ROUTES}
        routable = [row for row in rows if tasks.get(row.topic) is not None]
        if not routable:
            return
        result = RelayResult()
        with _broker_connection(True) as producer:
            _publish(routable, tasks, producer, result)
        sent = [row.dedup_key for row in routable if row.dispatched_at is not None]
        failed = [row for row in routable if row.dispatched_at is None]
        if sent:
            OutboxMessage.objects.filter(dedup_key__in=sent, dispatched_at__isnull=True).update(
                dispatched_at=timezone.now(), last_error="")
        if failed:
            error = next((row.last_error for row in failed if row.last_error), "not published")
            OutboxMessage.objects.filter(dedup_key__in=[row.dedup_key for row in failed],
                                         dispatched_at__isnull=True).update(
                attempts=F("attempts") + 1, last_error=error)
    except Exception:  # best effort: beat picks the rows up
        logger.exception("outbox relay after commit failed; rows stay pending")


_resolved: dict[str, Any] = {}


def resolve_task(name: str) -> Any | None:
    """The Celery task at dotted path `name`, or None when it does not exist (yet). A task
    found is remembered (every submit publishes); one missing is looked for again."""
    task = _resolved.get(name)
    if task is None:
        try:
            task = import_string(name)
        except ImportError:
            return None
        if not hasattr(task, "apply_async"):
            return None
        _resolved[name] = task
    return task


@transaction.atomic
def outbox_relay(*, dedup_keys: list[str] | None = None, batch_size: int = 200) -> RelayResult:
    """Publish up to `batch_size` pending rows (only `dedup_keys` when given), locking them
    so that concurrent relays (several beat-triggered workers) never publish a row twice.

    Rows whose task does not exist (a topic of an app not installed yet) stay pending with
    the error recorded and logged, and never hold back the others."""
    result = RelayResult()
    tasks = {topic: resolve_task(route.task_name) for topic, route in ROUTES.items()}
    routable = [topic for topic, task in tasks.items() if task is not None]
    pending = OutboxMessage.objects.select_for_update(skip_locked=True).filter(
        dispatched_at__isnull=True)
    if dedup_keys is not None:
        pending = pending.filter(dedup_key__in=dedup_keys)
    rows = list(pending.filter(topic__in=routable).order_by("created_at", "id")[:batch_size])
    with _broker_connection(bool(rows)) as producer:
        _publish(rows, tasks, producer, result)
    if rows:
        OutboxMessage.objects.bulk_update(rows, ["dispatched_at", "attempts", "last_error"])
    stuck = list(pending.exclude(topic__in=routable).order_by("created_at", "id")[:batch_size])
    for row in stuck:
        route = ROUTES.get(row.topic)
        row.attempts += 1
        row.last_error = (f"task {route.task_name} is not installed" if route
                          else f"no task for topic {row.topic!r}")
        result.unroutable += 1
    if stuck:
        OutboxMessage.objects.bulk_update(stuck, ["attempts", "last_error"])
        logger.error("%s outbox rows left pending: %s", len(stuck),
                     "; ".join(sorted({row.last_error for row in stuck})))
    return result


def _publish(rows: list[OutboxMessage], tasks: dict[str, Any], producer: Any,
             result: RelayResult) -> None:
    broker_down = False
    for row in rows:
        route = ROUTES[row.topic]
        if broker_down:
            result.failed += 1
            continue
        try:
            tasks[row.topic].apply_async(args=route.args(row), retry=False, producer=producer)
        except Exception as exc:
            row.attempts += 1
            row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            result.failed += 1
            logger.warning("outbox row %s not published (%s); will retry", row.pk,
                           row.last_error)
            # Eager mode runs the task here: its failure is the task's, not the broker's.
            broker_down = not _eager()
            if broker_down:
                _drop_connection()
            continue
        row.dispatched_at = timezone.now()
        row.last_error = ""
        result.dispatched += 1


_local = threading.local()


@contextlib.contextmanager
def _broker_connection(needed: bool) -> Iterator[Any]:
    """A producer on the broker connection of this thread, both kept between relays
    (connecting costs more than publishing, and a producer made per message costs a tenth
    of a millisecond on every submit), and failing at once when the broker is unreachable:
    kombu's default retries for seconds, which would hold the web request that triggered
    the relay. After a failure they are dropped and the next relay connects afresh."""
    from config.celery import app

    if not needed or app.conf.task_always_eager:
        yield None
        return
    url = app.conf.broker_url
    conn = getattr(_local, "conn", None)
    if conn is None or getattr(_local, "url", None) != url:
        if conn is not None:
            conn.release()
        options = {**(app.conf.broker_transport_options or {}), "max_retries": 0}
        conn = app.connection_for_write(transport_options=options)
        _local.conn, _local.url = conn, url
        _local.producer = app.amqp.Producer(conn, auto_declare=False)
    try:
        yield _local.producer
    except BaseException:
        _drop_connection()
        raise


def _drop_connection() -> None:
    conn = getattr(_local, "conn", None)
    _local.conn = _local.producer = None
    if conn is not None:
        with contextlib.suppress(Exception):
            conn.release()


def outbox_relay_all(*, batch_size: int = 200, max_batches: int = 50) -> RelayResult:
    """Relay everything pending, batch after batch, until a batch dispatches nothing new."""
    total = RelayResult()
    for _ in range(max_batches):
        result = outbox_relay(batch_size=batch_size)
        total.dispatched += result.dispatched
        total.failed += result.failed
        total.unroutable += result.unroutable
        if result.dispatched + result.failed < batch_size or result.dispatched == 0:
            break
    return total


def _eager() -> bool:
    from config.celery import app

    return bool(app.conf.task_always_eager)


def start_dev_relay(interval: float = 5.0) -> threading.Event:
    """Development stand-in for Celery beat (`make run` has no beat): a daemon thread that
    relays pending outbox rows every few seconds and runs the SLA watch every 15 minutes.
    Meant for core.devservices.DEV_SERVICE_STARTERS ("crm.outbox.start_dev_relay"). Set the
    returned event to stop it."""
    from django.db import close_old_connections

    stop = threading.Event()

    def loop() -> None:
        from django.db import connection

        from crm.services import cases_flag_sla

        last_sla = 0.0
        while not stop.wait(interval):
            try:
                close_old_connections()
                outbox_relay_all()
                if time.monotonic() - last_sla > 15 * 60:
                    cases_flag_sla()
                    last_sla = time.monotonic()
            except Exception:
                logger.exception("development relay failed; trying again")
        connection.close()

    threading.Thread(target=loop, name="crm-dev-relay", daemon=True).start()
    return stop
