"""The transactional outbox and its relay.

A service that decides a side effect (an e-mail, a document to seal, a search index update)
writes an OutboxMessage in its own transaction. Right after that transaction commits, the
relay publishes one broker message naming the rows it wrote (by dedup key), whatever their
number: the worker task (crm.tasks.outbox_process) loads those rows and runs each row's
handler. Intake is the busiest write of the platform, and a Celery message costs more Python
than the statement that wrote the case, so a request publishes once and writes nothing after
its commit.

Nothing records that a row was published right after its commit; the worker stamps
`processed_at` when a row's handler has run. Celery beat runs the relay every few seconds
over the rows still unprocessed and older than CRM_OUTBOX_GRACE_SECONDS (written while the
broker was down, whose message was lost, or whose task did not exist yet), publishes them
again and stamps `dispatched_at`, so it waits another grace period before publishing them a
third time. A request accepted while Redis is down is therefore processed once it is back.
Messages may thus arrive twice: each row is locked and stamped processed in the transaction
that runs its handler, so a duplicated or retried message does the work once.

With CRM_OUTBOX_RELAY_ON_COMMIT off (production), a request does not talk to the broker at
all: it only writes its rows, and the relay process (`manage.py outbox_relay`, relay_run
below) publishes what was committed every few tens of milliseconds, many requests' rows in
one message when they come fast, and stamps them dispatched. A request then never waits on
the broker, however slow or far it is, and the machine spends less on publishing than one
message per request costs. Beat still publishes again what stays unprocessed after the
grace period.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.module_loading import import_string

from core.db import prepared_cursor
from crm.constants import Topic
from crm.models import OutboxMessage

logger = logging.getLogger("crm.outbox")


@dataclass(frozen=True)
class Route:
    task_name: str
    args: Callable[[OutboxMessage], list[Any]]
    # The task does its work once however often it runs, in transactions of its own
    # (signing's document_issue: case lock, unique issue key). It then runs outside the
    # row's transaction, so that no lock is held during its slow part (render and seal):
    # on SQLite, whose transactions take the write lock when they begin, every other writer
    # would wait for it.
    idempotent: bool = False


# topic -> Celery task (dotted name) that carries out one row. signing owns
# "signing.tasks.document_issue". The worker calls the task in-process from the batch task;
# the batch goes to the queue Celery routes the row's task to (task_routes), so a topic with
# a queue of its own is still handled by the workers of that queue.
ROUTES: dict[str, Route] = {
    Topic.CASE_NOTIFY: Route("crm.tasks.case_notify", lambda row: [row.dedup_key]),
    Topic.DOCUMENT_ISSUE: Route("signing.tasks.document_issue",
                                lambda row: [row.payload["case_id"]], idempotent=True),
    Topic.SEARCH_INDEX: Route("crm.tasks.case_index", lambda row: [row.payload["case_id"]]),
    Topic.STAFF_NOTIFY: Route("crm.tasks.staff_notify", lambda row: [row.dedup_key]),
}

BATCH_TASK = "crm.tasks.outbox_process"
# Rows named by one message of the periodic relay (a worker takes a message at a time).
KEYS_PER_MESSAGE = 50


@dataclass
class RelayResult:
    dispatched: int = 0
    failed: int = 0
    unroutable: int = 0

    @property
    def handled(self) -> int:
        return self.dispatched + self.failed + self.unroutable

    def add(self, other: RelayResult) -> None:
        self.dispatched += other.dispatched
        self.failed += other.failed
        self.unroutable += other.unroutable


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
    in autocommit: the statement that wrote them has committed), unless the relay process
    publishes them (CRM_OUTBOX_RELAY_ON_COMMIT off)."""
    if rows and getattr(settings, "CRM_OUTBOX_RELAY_ON_COMMIT", True):
        # Dropped with the transaction if it rolls back: only committed rows are published.
        transaction.on_commit(lambda: _publish_committed(rows))


def _publish_committed(rows: list[OutboxMessage]) -> None:
    """Right after the commit, publish one message per queue (one in practice) naming the
    rows just written, and write nothing more: the worker stamps them processed. Best
    effort: a row not published stays unprocessed for beat, with the error recorded."""
    try:
        failed: list[str] = []
        errors: list[str] = []
        routable = [row.dedup_key for row in rows if _routable(row.topic)]
        for keys, error in _send(_messages(rows, routable)):
            failed += keys
            errors.append(error)
        if failed:
            _record_failure(failed, errors[0])
    except Exception:  # best effort: beat picks the rows up
        logger.exception("outbox relay after commit failed; rows stay pending")


def _record_failure(keys: list[str], error: str) -> None:
    """One more failed try for the unprocessed rows `keys`, and why (shown in the admin)."""
    OutboxMessage.objects.filter(dedup_key__in=keys, processed_at__isnull=True).update(
        attempts=F("attempts") + 1, last_error=error)


def _routable(topic: str) -> bool:
    route = ROUTES.get(topic)
    return route is not None and resolve_task(route.task_name) is not None


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


_queues: dict[str, str] = {}


def _queue_of(task_name: str) -> str:
    """The queue Celery routes `task_name` to (task_routes, else the default queue)."""
    queue = _queues.get(task_name)
    if queue is None:
        from config.celery import app

        queue = app.amqp.router.route({}, task_name)["queue"].name
        _queues[task_name] = queue
    return queue


def _messages(rows: Iterable[OutboxMessage], keys: Iterable[str],
              per_message: int | None = None) -> list[tuple[str | None, list[str]]]:
    """The messages that carry `keys` (of `rows`): one per destination queue, of at most
    `per_message` keys. In eager mode (tests, development without a broker) the queue does
    not matter and is not looked up."""
    wanted = set(keys)
    eager = _eager()
    by_queue: dict[str | None, list[str]] = {}
    for row in rows:
        if row.dedup_key in wanted:
            queue = None if eager else _queue_of(ROUTES[row.topic].task_name)
            by_queue.setdefault(queue, []).append(row.dedup_key)
    size = per_message or max(1, len(wanted))
    return [(queue, group[i:i + size]) for queue, group in by_queue.items()
            for i in range(0, len(group), size)]


def _send(messages: list[tuple[str | None, list[str]]]) -> list[tuple[list[str], str]]:
    """Publish each (queue, keys) message to the batch task; the messages not published,
    with the error. The first broker error stops the rest (the broker is down: each further
    try would fail too) and drops the kept connection."""
    failures: list[tuple[list[str], str]] = []
    if not messages:
        return failures
    if _eager():  # the batch task runs here: its failure is the task's, not the broker's
        from crm.tasks import outbox_process

        for _queue, keys in messages:
            try:
                outbox_process.apply_async(args=[keys])
            except Exception as exc:
                failures.append((keys, _error(exc)))
                logger.warning("outbox rows %s not processed (%s)", keys, failures[-1][1])
        return failures
    from config.celery import app

    with _broker_connection() as producer:
        for queue, keys in messages:
            if failures:
                failures.append((keys, failures[0][1]))
                continue
            try:
                # send_task with the queue given skips the task lookup and the router, and
                # argsrepr the repr of the keys: what apply_async would add to each submit.
                app.send_task(BATCH_TASK, args=[keys], queue=queue, producer=producer,
                              retry=False, add_to_parent=False,
                              argsrepr=f"[{len(keys)} outbox rows]")
            except Exception as exc:
                failures.append((keys, _error(exc)))
                logger.warning("outbox rows %s not published (%s); will retry", keys,
                               failures[-1][1])
                _drop_connection()
    return failures


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000]


def outbox_process_rows(keys: Iterable[str]) -> tuple[list[str], Exception | None]:
    """Carry out the outbox rows `keys` that are not processed yet (the worker's side of a
    message): each row is locked, its handler run in this process, and the row stamped
    processed in the same transaction, so a duplicated or retried message, or one beat
    published again meanwhile, finds it processed and does nothing (a route marked
    idempotent runs its task outside that transaction, which holds no lock meanwhile). A row whose handler
    fails stays unprocessed and does not hold back the others. Returns the keys that failed
    and the first error."""
    failed: list[str] = []
    first: Exception | None = None
    for key in keys:
        try:
            _process_row(key)
        except Exception as exc:
            failed.append(key)
            first = first or exc
            logger.warning("outbox row %s failed (%s); will retry", key, _error(exc))
    return failed, first


def _process_row(key: str) -> None:
    row = OutboxMessage.objects.filter(dedup_key=key, processed_at__isnull=True).first()
    if row is None:  # already processed (or never committed)
        return
    route = ROUTES.get(row.topic)
    task = resolve_task(route.task_name) if route and route.idempotent else None
    if task is not None:  # no transaction around it: the task is idempotent on its own
        task(*route.args(row))
        _stamp_processed(row)
        return
    with transaction.atomic():
        row = (OutboxMessage.objects.select_for_update()
               .filter(dedup_key=key, processed_at__isnull=True).first())
        if row is None:  # already processed (or never committed)
            return
        route = ROUTES.get(row.topic)
        task = resolve_task(route.task_name) if route else None
        if route is None or task is None:  # beat records the error on the row
            logger.error("outbox row %s: no task for topic %r", key, row.topic)
            return
        task(*route.args(row))  # the task's own body, in this process
        _stamp_processed(row)


def _stamp_processed(row: OutboxMessage) -> None:
    # The e-mail handlers stamp processed_at themselves (same transaction): keep the first
    # stamp. dispatched_at is set too, so a row reads as handed on however it got there.
    now = timezone.now()
    OutboxMessage.objects.filter(pk=row.pk).update(
        processed_at=Coalesce("processed_at", Value(now)),
        dispatched_at=Coalesce("dispatched_at", Value(now)))


@transaction.atomic
def outbox_relay(*, batch_size: int = 200, before: dt.datetime | None = None,
                 again_before: dt.datetime | None = None,
                 only_new: bool = False) -> RelayResult:
    """Publish up to `batch_size` unprocessed rows: those written before `before` (default:
    now) and never published by a relay, and, unless `only_new`, those a relay published
    before `again_before` (default: `before`) and still not processed. They are stamped
    dispatched. The rows are locked, so concurrent relays (beat-triggered workers, the relay
    process) never publish a row twice at once.

    Rows whose task does not exist (a topic of an app not installed yet) stay pending with
    the error recorded and logged, and never hold back the others (beat records them; a run
    with `only_new`, the relay process's, leaves them alone)."""
    result = RelayResult()
    before = before or timezone.now()
    due = Q(dispatched_at__isnull=True, created_at__lt=before)
    if not only_new:
        due |= Q(dispatched_at__lt=again_before or before)
    routable = [topic for topic in ROUTES if _routable(topic)]
    pending = OutboxMessage.objects.select_for_update(skip_locked=True).filter(
        due, processed_at__isnull=True)
    rows = list(pending.filter(topic__in=routable).order_by("created_at", "id")[:batch_size])
    failed = {key: error
              for keys, error in _send(_messages(rows, [row.dedup_key for row in rows],
                                                 KEYS_PER_MESSAGE))
              for key in keys}
    now = timezone.now()
    for row in rows:
        if row.dedup_key in failed:
            row.attempts += 1
            row.last_error = failed[row.dedup_key]
            result.failed += 1
        else:
            row.dispatched_at = now
            row.last_error = ""
            result.dispatched += 1
    if rows:
        OutboxMessage.objects.bulk_update(rows, ["dispatched_at", "attempts", "last_error"])
    if only_new:
        return result
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


# The relay process's pass on PostgreSQL, in one statement: lock the rows never published
# (skipping those another relay holds), stamp them, and return what the messages name. No
# row is loaded as a model: the pass costs little more than the message it sends.
_CLAIM_NEW_SQL = """
UPDATE crm_outboxmessage AS o SET dispatched_at = %(now)s::timestamptz, last_error = ''
FROM (SELECT id FROM crm_outboxmessage
      WHERE processed_at IS NULL AND dispatched_at IS NULL
        AND topic = ANY(%(topics)s::text[])
      ORDER BY created_at, id
      LIMIT %(limit)s::int
      FOR UPDATE SKIP LOCKED) AS due
WHERE o.id = due.id
RETURNING o.topic, o.dedup_key
"""


@dataclass(frozen=True)
class _Claimed:
    topic: str
    dedup_key: str


class _NotPublished(Exception):
    def __init__(self, keys: list[str], error: str) -> None:
        super().__init__(error)
        self.keys, self.error = keys, error


def relay_new_all(*, batch_size: int = 500) -> RelayResult:
    """relay_new until a pass finds less than a batch (or fails)."""
    total = RelayResult()
    while True:
        result = relay_new(batch_size=batch_size)
        total.add(result)
        if result.failed or result.dispatched < batch_size:
            return total


def relay_new(*, batch_size: int = 500) -> RelayResult:
    """Publish up to `batch_size` rows that no relay has published yet, oldest first, and
    stamp them dispatched (the relay process's pass). If the broker refuses a message, the
    stamps are rolled back (the rows of messages already sent will be sent again: their
    task does the work once) and the rows keep the error for the next pass."""
    if connection.vendor != "postgresql":
        return outbox_relay(batch_size=batch_size, only_new=True)
    result = RelayResult()
    routable = [topic for topic in ROUTES if _routable(topic)]
    if not routable:
        return result
    try:
        with transaction.atomic():
            with prepared_cursor() as cursor:
                cursor.execute(_CLAIM_NEW_SQL, {"now": timezone.now(), "topics": routable,
                                                "limit": batch_size})
                rows = [_Claimed(topic, key) for topic, key in cursor.fetchall()]
            failures = _send(_messages(rows, [row.dedup_key for row in rows],
                                       KEYS_PER_MESSAGE))
            if failures:
                raise _NotPublished([row.dedup_key for row in rows], failures[0][1])
    except _NotPublished as exc:
        _record_failure(exc.keys, exc.error)
        result.failed = len(exc.keys)
        return result
    result.dispatched = len(rows)
    return result


_local = threading.local()


@contextlib.contextmanager
def _broker_connection() -> Iterator[Any]:
    """A producer on the broker connection of this thread, both kept between relays
    (connecting costs more than publishing), and failing at once when the broker is
    unreachable. Not the app's producer pool: its connection retries for seconds (6 s
    measured against a closed port), which would hold the web request that triggered the
    relay. After a failure they are dropped and the next relay connects afresh."""
    from config.celery import app

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


def grace_seconds() -> float:
    """How long beat leaves a new unprocessed row to the message published after its commit
    (CRM_OUTBOX_GRACE_SECONDS); no time at all when nothing is published after commits."""
    if not getattr(settings, "CRM_OUTBOX_RELAY_ON_COMMIT", True):
        return 0.0
    return republish_after()


def republish_after() -> float:
    """How long a published row may stay unprocessed before beat publishes it again (its
    message lost, or its worker gone): CRM_OUTBOX_GRACE_SECONDS."""
    return float(getattr(settings, "CRM_OUTBOX_GRACE_SECONDS", 60))


def outbox_relay_all(*, older_than: float = 0.0, again_older_than: float | None = None,
                     only_new: bool = False, batch_size: int = 200,
                     max_batches: int = 50) -> RelayResult:
    """Relay, batch after batch, every unprocessed row written more than `older_than`
    seconds ago and, unless `only_new`, every one published more than `again_older_than`
    (default: `older_than`) seconds ago. Beat passes grace_seconds() and republish_after();
    a direct call relays everything pending now."""
    now = timezone.now()
    before = now - dt.timedelta(seconds=older_than)
    again_before = (before if again_older_than is None
                    else now - dt.timedelta(seconds=again_older_than))
    total = RelayResult()
    for _ in range(max_batches):
        result = outbox_relay(batch_size=batch_size, before=before, again_before=again_before,
                              only_new=only_new)
        total.add(result)
        if result.dispatched + result.failed < batch_size or result.dispatched == 0:
            break
    return total


def relay_periodic() -> RelayResult:
    """Beat's pass (every few seconds): the rows no message carried within the grace
    period, and those published long ago but still not processed."""
    return outbox_relay_all(older_than=grace_seconds(), again_older_than=republish_after())


def relay_run(*, stop: threading.Event, interval: float | None = None,
              on_pass: Callable[[RelayResult], None] | None = None) -> None:
    """The relay process (`manage.py outbox_relay`) until `stop` is set: every `interval`
    seconds (CRM_OUTBOX_RELAY_INTERVAL_MS), publish the rows committed since, in as few
    messages as their queues allow. Under load a pass carries the rows of many requests in
    one message; idle, a pass is one look at an index of the unpublished rows, which is
    empty. (Waking on a notification from each committing transaction was tried: handling
    one notification per request cost the machine more than the request's own statement.)
    A broker or database failure is logged, and the pass tried again `retry_seconds` later;
    the rows wait meanwhile."""
    from django.db import close_old_connections

    if interval is None:
        interval = getattr(settings, "CRM_OUTBOX_RELAY_INTERVAL_MS", 50) / 1000
    retry_seconds = max(interval, 5.0)
    try:
        while not stop.is_set():
            wait = interval
            try:
                close_old_connections()
                result = relay_new_all()
                if on_pass is not None:
                    on_pass(result)
                if result.failed:  # the broker is down: do not hammer it
                    wait = retry_seconds
            except Exception:
                logger.exception("outbox relay pass failed; trying again")
                wait = retry_seconds
            stop.wait(wait)
    finally:
        connection.close()


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
                relay_periodic()
                if time.monotonic() - last_sla > 15 * 60:
                    cases_flag_sla()
                    last_sla = time.monotonic()
            except Exception:
                logger.exception("development relay failed; trying again")
        connection.close()

    threading.Thread(target=loop, name="crm-dev-relay", daemon=True).start()
    return stop
