"""CIRM benchmark: `python -m bench.crm [--count 1000000] [--submits 3000] [--renders 200]`.

Needs PostgreSQL (DATABASE_URL) and Redis (REDIS_URL); works in that database (create a
dedicated one, e.g. guichet_bench). Prints, against floors measured in the same run:

- generation: `manage.py bench_make_cases` up to --count cases (skipped when already there);
- intake: crm.services.case_submit per second (each its own transaction: case, two events,
  two outbox rows), with the relay process publishing the rows to Redis meanwhile and timed
  until it has (the production set-up), against a floor of one raw INSERT plus one Redis
  LPUSH per request (target >= 0.3x); and, for the record, with each request publishing
  its own message after its commit;
- back-office list (crm.selectors.case_list_page, a supervisor seeing every queue):
  queries per page (target <= 5), database time against the hand-written SQL of the same page
  (target <= 2x), page 100 against page 1 (keyset: target <= 1.2x), and the whole page
  rendered through the back-office view (/admin/crm/cases/, Wagtail admin chrome included):
  p50 and p99 (target p99 < 100 ms).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _setup() -> None:
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("bench.crm needs DATABASE_URL pointing at PostgreSQL")
    if not os.environ.get("REDIS_URL"):
        sys.exit("bench.crm needs REDIS_URL (the broker the outbox relay publishes to)")
    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "false")
    import django

    django.setup()


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p * (len(ordered) - 1))))]


class Timer:
    """Sums the execution time of the SQL statements run through Django's connection."""

    def __init__(self) -> None:
        self.total = 0.0
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.total += time.perf_counter() - started
            self.count += 1


@contextmanager
def db_timer():
    from django.db import connection

    timer = Timer()
    with connection.execute_wrapper(timer):
        yield timer


def ensure_cases(count: int) -> int:
    from django.core.management import call_command
    from django.db import connection

    from catalogue.models import Procedure

    call_command("migrate", verbosity=0)
    if not Procedure.objects.exists():
        call_command("load_catalogue")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM crm_case")
        have = cursor.fetchone()[0]
    if have < count:
        started = time.perf_counter()
        call_command("bench_make_cases", count=count - have)
        elapsed = time.perf_counter() - started
        print(f"generated {count - have:,} cases in {elapsed:.1f}s "
              f"({(count - have) / elapsed:,.0f}/s)")
        have = count
    print(f"cases in the database: {have:,}")
    return have


def actors():
    from django.contrib.auth.models import Group, Permission
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from crm.models import Queue
    from identity.constants import GROUP_CASE_SUPERVISOR
    from identity.models import Person, User

    supervisor, _ = User.objects.get_or_create(username="bench.supervisor",
                                               defaults={"is_staff": True})
    supervisor.groups.add(Group.objects.get_or_create(name=GROUP_CASE_SUPERVISOR)[0])
    supervisor.user_permissions.add(Permission.objects.get(codename="access_admin"))
    for queue in Queue.objects.all():
        queue.supervisors.add(supervisor)
        queue.members.add(supervisor)
    device = TOTPDevice.objects.filter(user=supervisor).first() or TOTPDevice.objects.create(
        user=supervisor, name="bench", confirmed=True)
    person = Person.objects.filter(number="98000000001").first() or Person.objects.create(
        number="98000000001", number_kind="national", first_names="Bench",
        last_name="Citizen", birth_date="1980-01-01", gender="F")
    citizen, _ = User.objects.get_or_create(username="bench.citizen",
                                            defaults={"person": person,
                                                      "email": "bench@example.org"})
    return supervisor, device, citizen


@contextmanager
def relay_process():
    """`manage.py outbox_relay` in a process of its own, as deployed beside the workers."""
    import subprocess

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test",
           "CELERY_TASK_ALWAYS_EAGER": "false", "CRM_OUTBOX_RELAY_ON_COMMIT": "false"}
    proc = subprocess.Popen([sys.executable, str(ROOT / "manage.py"), "outbox_relay"],
                            env=env, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        line = proc.stdout.readline()
        if "running" not in line:
            sys.exit(f"the outbox relay did not start: {line!r}")
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def bench_submit(citizen, submits: int) -> dict[str, float]:
    """Requests per second of case_submit in both ways of handing its side effects to the
    broker, each against the floor timed in alternate chunks (so that a change of load on
    the machine hits both alike):

    - relay: the production way (CRM_OUTBOX_RELAY_ON_COMMIT off). The request writes and
      commits; the relay process, running meanwhile, publishes. A chunk is timed until the
      relay has published every row of it: the rate counts the whole way to the broker.
    - commit: each request publishes its own message right after its commit.
    """
    import redis
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from catalogue.models import Procedure
    from config.celery import app
    from crm.models import OutboxMessage
    from crm.services import case_submit
    from identity.constants import AssuranceLevel

    app.conf.task_always_eager = False
    procedure = Procedure.objects.get(code="birth-certificate")
    procedure.one_open_case_per_person = False
    procedure.save()
    data = {"relation": "self", "person_last_name": "Citizen", "person_first_names": "Bench",
            "event_date": "1980-01-01", "act_place": "Bruxelles"}
    from catalogue.forms_schema import validate_form_data

    errors = validate_form_data(procedure.form_schema, data)
    for name in list(errors):  # fill what this catalogue version also requires
        from crm.management.commands.crm_demo import sample_value

        data[name] = sample_value(name, procedure.form_schema["properties"][name],
                                  __import__("random").Random(1))
    client = redis.Redis.from_url(settings.REDIS_URL)
    queue_name = app.conf.task_default_queue
    # Rows left unprocessed by an earlier run (this database has no worker): the relay would
    # publish them during this one, so they are stamped as a worker would have done.
    OutboxMessage.objects.filter(processed_at__isnull=True).update(processed_at=timezone.now())
    started_at = timezone.now()

    def submit_once() -> None:
        case_submit(procedure=procedure, requester=citizen, channel="web", data=data,
                    assurance_level=AssuranceLevel.SUBSTANTIAL)

    unpublished = OutboxMessage.objects.filter(processed_at__isnull=True,
                                               dispatched_at__isnull=True,
                                               created_at__gte=started_at)

    def wait_published() -> None:
        deadline = time.monotonic() + 60
        while unpublished.exists():
            if time.monotonic() > deadline:
                sys.exit("the outbox relay did not publish the rows within 60 s")
            time.sleep(0.0005)

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_floor "
                       "(id bigserial primary key, payload jsonb, created_at timestamptz)")
    key = "bench:floor"

    def floor_once(cursor, i: int) -> None:
        cursor.execute("INSERT INTO bench_floor (payload, created_at) VALUES (%s, now())",
                       ['{"purpose": "bench"}'])
        client.lpush(key, f"case {i}")

    chunk = max(1, submits // 10)
    elapsed = {"relay": 0.0, "relay_request": 0.0, "floor_relay": 0.0, "commit": 0.0,
               "floor_commit": 0.0}

    def run(mode: str, cursor) -> None:
        settings.CRM_OUTBOX_RELAY_ON_COMMIT = mode == "commit"
        for _ in range(20):  # warm-up: connections, prepared statement, caches
            submit_once()
        if mode == "relay":
            wait_published()
        for start in range(0, submits, chunk):
            n = min(chunk, submits - start)
            started = time.perf_counter()
            for _ in range(n):
                submit_once()
            if mode == "relay":
                elapsed["relay_request"] += time.perf_counter() - started
                wait_published()
            elapsed[mode] += time.perf_counter() - started
            started = time.perf_counter()
            for i in range(n):
                floor_once(cursor, start + i)
            elapsed[f"floor_{mode}"] += time.perf_counter() - started

    try:
        with connection.cursor() as cursor:
            with relay_process():
                run("relay", cursor)
            run("commit", cursor)
            cursor.execute("DROP TABLE bench_floor")
    finally:
        settings.CRM_OUTBOX_RELAY_ON_COMMIT = True
        # The bench has no worker: drop what was published, and stamp the rows as a worker
        # would, so that they do not pile up for the next run.
        OutboxMessage.objects.filter(processed_at__isnull=True,
                                     created_at__gte=started_at).update(
            processed_at=timezone.now())
        client.delete(queue_name, key)
    return {name: submits / seconds for name, seconds in elapsed.items()}


RAW_PAGE_SQL = """
SELECT c.id, c.reference, c.state, c.channel, c.created_at, c.sla_due_at, c.assignee_id,
       p.code, p.name_fr, pe.first_names, pe.last_name, q.name, u.username
FROM crm_case c
JOIN catalogue_procedure p ON p.id = c.procedure_id
JOIN identity_person pe ON pe.id = c.person_id
LEFT JOIN crm_queue q ON q.id = c.queue_id
LEFT JOIN identity_user u ON u.id = c.assignee_id
WHERE c.queue_id IN (SELECT queue_id FROM crm_queue_supervisors WHERE user_id = %s
                     UNION SELECT queue_id FROM crm_queue_members WHERE user_id = %s)
  AND (%s::timestamptz IS NULL OR (c.created_at, c.id) < (%s::timestamptz, %s))
ORDER BY c.created_at DESC, c.id DESC
LIMIT 51
"""


def bench_list(supervisor, device, renders: int, repeats: int = 60) -> dict:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import NoReverseMatch, reverse
    from django_otp import DEVICE_ID_SESSION_KEY

    from crm.selectors import case_list_page, decode_cursor

    def show(page):
        return [(c.reference, c.procedure.code, c.person.last_name, c.queue and c.queue.name,
                 c.assignee and c.assignee.username) for c in page.items]

    with CaptureQueriesContext(connection) as ctx:
        show(case_list_page(user=supervisor))
    queries = len(ctx.captured_queries)
    counts = any("COUNT(" in q["sql"].upper() for q in ctx.captured_queries)

    # the cursor that opens page 100 is the one page 99 hands out
    page = case_list_page(user=supervisor)
    for _ in range(98):
        page = case_list_page(user=supervisor, after=page.next_cursor)
    cursor_100 = page.next_cursor

    def selector_db(after):
        samples = []
        for _ in range(repeats):
            with db_timer() as timer:
                show(case_list_page(user=supervisor, after=after))
            samples.append(timer.total)
        return statistics.median(samples)

    def selector_wall(after):
        samples = []
        for _ in range(repeats):
            started = time.perf_counter()
            show(case_list_page(user=supervisor, after=after))
            samples.append(time.perf_counter() - started)
        return statistics.median(samples)

    def raw_db(after):
        created, pk = decode_cursor(after) if after else (None, None)
        samples = []
        with connection.cursor() as cursor:
            for _ in range(repeats):
                with db_timer() as timer:
                    cursor.execute(RAW_PAGE_SQL, [supervisor.pk, supervisor.pk, created,
                                                  created, pk])
                    cursor.fetchall()
                samples.append(timer.total)
        return statistics.median(samples)

    result = {
        "queries": queries, "count_query": counts,
        "db_page1": selector_db(None), "raw_page1": raw_db(None),
        "db_page100": selector_db(cursor_100), "raw_page100": raw_db(cursor_100),
        "wall_page1": selector_wall(None), "wall_page100": selector_wall(cursor_100),
    }
    try:
        url = reverse("crm_admin:case_list")
    except NoReverseMatch:
        url = None
    if url:
        client = Client()
        client.force_login(supervisor)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
        response = client.get(url)
        if response.status_code != 200:
            print(f"list view answered {response.status_code}; render figures skipped")
        else:
            with CaptureQueriesContext(connection) as ctx:
                client.get(url)
            result["view_queries"] = len(ctx.captured_queries)
            samples = []
            for i in range(renders):
                target = url if i % 2 == 0 else f"{url}?after={cursor_100}"
                started = time.perf_counter()
                response = client.get(target)
                samples.append(time.perf_counter() - started)
                assert response.status_code == 200, response.status_code
            result["render_p50"] = statistics.median(samples)
            result["render_p99"] = _pct(samples, 0.99)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--submits", type=int, default=3000)
    parser.add_argument("--renders", type=int, default=200)
    args = parser.parse_args()
    _setup()
    from django.conf import settings

    have = ensure_cases(args.count)
    supervisor, device, citizen = actors()
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs "
          f"(database {settings.DATABASES['default']['NAME']})")

    rates = bench_submit(citizen, args.submits)
    ratio = rates["relay"] / rates["floor_relay"]
    print("\nintake (case_submit: the case, its 2 events and 2 outbox rows in one transaction)")
    print(f"  with the relay process (production): {rates['relay']:,.0f} requests/s, every "
          f"row published ({args.submits} requests; {rates['relay_request']:,.0f}/s "
          f"counting the requests alone)")
    print(f"  floor (1 INSERT + 1 LPUSH): {rates['floor_relay']:,.0f} requests/s")
    print(f"  ratio {ratio:.2f}x (target >= 0.3x): {'OK' if ratio >= 0.3 else 'MISSED'}")
    commit_ratio = rates["commit"] / rates["floor_commit"]
    print(f"  each request publishing after its commit (CRM_OUTBOX_RELAY_ON_COMMIT on): "
          f"{rates['commit']:,.0f} requests/s vs floor {rates['floor_commit']:,.0f} = "
          f"{commit_ratio:.2f}x")

    r = bench_list(supervisor, device, args.renders)
    print(f"\nback-office list over {have:,} cases (50 per page)")
    print(f"  queries per page: {r['queries']} (target <= 5), COUNT query: "
          f"{'yes' if r['count_query'] else 'no'}")
    for page in ("1", "100"):
        db, raw = r[f"db_page{page}"], r[f"raw_page{page}"]
        print(f"  page {page}: DB time {_ms(db)} vs raw SQL {_ms(raw)} = {db / raw:.2f}x "
              f"(target <= 2x); selector wall time {_ms(r[f'wall_page{page}'])}")
    slow = r["db_page100"] / r["db_page1"]
    print(f"  page 100 / page 1 (DB time): {slow:.2f}x (target <= 1.2x); wall time "
          f"{r['wall_page100'] / r['wall_page1']:.2f}x")
    if "render_p99" in r:
        print(f"  whole page through the back-office view: p50 {_ms(r['render_p50'])}, "
              f"p99 {_ms(r['render_p99'])} (target p99 < 100 ms); "
              f"{r['view_queries']} queries in the view")


if __name__ == "__main__":
    main()
