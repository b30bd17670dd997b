"""Terminal API benchmark: `python -m bench.kiosk [--terminals 16] [--lists 150] [--submits 40]`.

16 terminals (threads, one HTTP connection each) call a real gunicorn serving the project on
loopback, each authenticated with its own credential and holding a citizen session opened from
an eID card (test PKI made here). Measured: p50/p99 latency of

- GET  /api/kiosk/v1/procedures/   (the catalogue a terminal shows; targets p99 < 50 ms)
- POST /api/kiosk/v1/requests/     (a request through crm's intake; target p99 < 150 ms)

and the number of errors (target 0). Database: a fresh PostgreSQL database next to
DATABASE_URL's when it is set (dropped afterwards), else a fresh SQLite file; Redis as the
Celery broker when REDIS_URL is set, else an in-memory broker. On PostgreSQL with Redis the
set-up is production's: requests only write their side effects and the relay process
(`manage.py outbox_relay`) runs beside gunicorn and publishes them; otherwise each request
publishes after its commit.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
PREFIX = "/api/kiosk/v1/"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


def _prepare_database(var_dir: str) -> tuple[str, str | None]:
    """The DATABASE_URL of a fresh bench database, and its name when it must be dropped."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        return f"sqlite:///{var_dir}/bench.sqlite3", None
    import psycopg

    parsed = urlparse(url)
    name = f"{parsed.path.lstrip('/') or 'guichet'}_kioskbench"
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return parsed._replace(path=f"/{name}").geturl(), name


def _drop_database(name: str | None) -> None:
    if not name:
        return
    import psycopg

    parsed = urlparse(os.environ["DATABASE_URL"])
    with psycopg.connect(parsed._replace(path="/postgres").geturl(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _seed(terminals: int, var_dir: str) -> dict:
    """Procedures, terminals with credentials, citizens; returns what the clients need."""
    import datetime as dt

    import django

    django.setup()
    from django.core.management import call_command

    from catalogue.models import Procedure
    from identity.models import Person, User
    from kiosk_api import demo_pki as pki
    from kiosk_api import services
    from kiosk_api.tests.conftest import national_number

    call_command("migrate", verbosity=0)
    from django.db import connection
    from django.utils import timezone

    if connection.vendor == "postgresql":
        # crm_next_case_number creates the yearly sequence on first use; made here once so
        # 16 concurrent first submits do not race on CREATE SEQUENCE.
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE SEQUENCE IF NOT EXISTS crm_case_ref_{timezone.localdate().year}")
    catalogue = ROOT / "catalogue" / "data" / "procedures.json"
    if catalogue.exists():
        call_command("load_catalogue", verbosity=0)
    Procedure.objects.update_or_create(code="bench-extract", defaults={
        "name_fr": "Extrait", "name_nl": "Uittreksel", "name_en": "Extract", "name_de": "Auszug",
        "category": "civil_status", "department": "civil_status", "workflow_kind": "agent_review",
        "delivery": "signed_pdf", "offered_kiosk": True, "fee_kiosk": 0, "required_assurance_level": 2,
        "one_open_case_per_person": False, "form_schema": {
            "type": "object", "required": ["purpose"],
            "properties": {"purpose": {"type": "string", "maxLength": 100, "x-labels": {
                "fr": "Motif", "nl": "Reden", "en": "Purpose", "de": "Zweck"}}}}})
    root = pki.make_root("Bench Root CA")
    ca = pki.make_sub_ca(root, "Bench Citizen CA")
    anchors = Path(var_dir) / "eid-root.pem"
    anchors.write_bytes(root.pem)
    clients = []
    for i in range(terminals):
        number = national_number(dt.date(1980, 1, 1) + dt.timedelta(days=i), 100 + i)
        person = Person.objects.create(number=number, number_kind="national",
                                       first_names="Bench", last_name=f"Citizen{i}",
                                       birth_date=dt.date(1980, 1, 1) + dt.timedelta(days=i),
                                       gender="F")
        User.objects.create(username=f"citizen-{number}", person=person)
        _terminal, issued = services.terminal_register(
            code=f"bench-{i:02d}", branch="administrative_centre", location="bench",
            actor=None)
        clients.append({"authorization": issued.authorization,
                        "card": pki.make_card(ca, national_number=number)})
    return {"clients": clients, "anchors": str(anchors),
            "procedures": Procedure.objects.offered_on("kiosk").count()}


class Terminal:
    def __init__(self, port: int, authorization: str) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.headers = {"Authorization": authorization, "Content-Type": "application/json",
                        "Accept": "application/json"}

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict | list]:
        payload = json.dumps(body).encode() if body is not None else None
        for attempt in (1, 2):  # sync workers close the connection after each answer
            try:
                self.conn.request(method, PREFIX + path, body=payload, headers=self.headers)
                response = self.conn.getresponse()
                data = response.read()
                return response.status, (json.loads(data) if data else {})
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


def _run_phase(terminals: list[Terminal], n: int, action) -> tuple[list[float], int]:
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    barrier = threading.Barrier(len(terminals))

    def work(terminal: Terminal, index: int) -> None:
        nonlocal errors
        barrier.wait()
        mine, bad = [], 0
        for k in range(n):
            start = time.perf_counter()
            status = action(terminal, index, k)
            mine.append((time.perf_counter() - start) * 1000)
            bad += status >= 300
        with lock:
            latencies.extend(mine)
            errors += bad

    threads = [threading.Thread(target=work, args=(t, i)) for i, t in enumerate(terminals)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors


def _server_cpu_seconds(master: int) -> float | None:
    """CPU time (user + system) of the gunicorn master and its workers so far, from /proc:
    a figure per request that other work on the machine does not inflate as it does
    latencies. None where /proc is not there."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total = 0
    try:
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            pid, ppid = int(entry.name), int(fields[1])
            if pid == master or ppid == master:
                total += int(fields[11]) + int(fields[12])
    except OSError:
        return None
    return total / tick


def _report(name: str, latencies: list[float], errors: int, seconds: float, target: float,
            cpu_seconds: float | None = None) -> None:
    p50, p99 = statistics.median(latencies), _percentile(latencies, 99)
    verdict = "OK" if p99 < target and errors == 0 else "MISSED"
    cpu = (f"  server CPU {cpu_seconds * 1000 / len(latencies):5.2f} ms/req"
           if cpu_seconds is not None else "")
    print(f"{name:<32} n={len(latencies):>5}  p50={p50:7.1f} ms  p99={p99:7.1f} ms  "
          f"errors={errors}  {len(latencies) / seconds:7.1f} req/s{cpu}  "
          f"(target p99 < {target:.0f} ms, no errors: {verdict})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--terminals", type=int, default=16)
    parser.add_argument("--lists", type=int, default=150, help="list calls per terminal")
    parser.add_argument("--submits", type=int, default=40, help="submits per terminal")
    parser.add_argument("--workers", type=int, default=max(2, (os.cpu_count() or 2) * 2))
    args = parser.parse_args()

    var_dir = tempfile.mkdtemp(prefix="bench-kiosk-")
    database_url, drop = _prepare_database(var_dir)
    env = {
        "GUICHET_VAR_DIR": var_dir, "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "LOG_LEVEL": "WARNING", "CELERY_TASK_ALWAYS_EAGER": "false",
        "KIOSK_THROTTLE_RATE": "1000000/min", "KIOSK_SESSION_OPEN_THROTTLE_RATE": "1000000/min",
    }
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    server = None
    stack = contextlib.ExitStack()
    try:
        seeded = _seed(args.terminals, var_dir)
        port = _free_port()
        server_env = {**os.environ, "KIOSK_EID_TRUST_ANCHORS": seeded["anchors"],
                      "DB_CONN_MAX_AGE": "600"}
        relayed = bool(drop and os.environ.get("REDIS_URL"))
        if relayed:
            from bench.crm import relay_process

            server_env["CRM_OUTBOX_RELAY_ON_COMMIT"] = "false"
            stack.enter_context(relay_process())
        server = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "config.wsgi:application",
             "--bind", f"127.0.0.1:{port}", "--workers", str(args.workers),
             "--worker-class", "sync", "--preload", "--log-level", "warning"],
            cwd=ROOT, env=server_env)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                probe = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                probe.request("GET", "/healthz")
                if probe.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.5)
        terminals = []
        print("opening sessions", flush=True)
        for client in seeded["clients"]:
            terminal = Terminal(port, client["authorization"])
            status, nonce = terminal.call("POST", "sessions/nonce/")
            assert status == 201, nonce
            status, opened = terminal.call("POST", "sessions/eid/", {
                "nonce": nonce["nonce"], "signature": client["card"].sign(nonce["nonce"]),
                "certificates": client["card"].certificates()})
            assert status == 201, opened
            terminal.headers["X-Kiosk-Session"] = opened["token"]
            terminals.append(terminal)
        print("warming up", flush=True)

        def list_procedures(t: Terminal, i: int, k: int) -> int:
            return t.call("GET", "procedures/")[0]

        def submit(t: Terminal, i: int, k: int) -> int:
            return t.call("POST", "requests/", {"procedure": "bench-extract",
                                                "data": {"purpose": f"bench {i}-{k}"}})[0]

        # warm every worker (imports, connections, caches) on both paths measured: the first
        # submit of a worker compiles the form's JSON Schema and opens its broker connection
        _run_phase(terminals, 5, list_procedures)
        _run_phase(terminals, 2, lambda t, i, k: submit(t, i, 1000 + k))

        print(f"kiosk bench: {args.terminals} concurrent terminals, gunicorn "
              f"{args.workers} sync workers, "
              f"{'PostgreSQL' if drop else 'SQLite'}, {seeded['procedures']} procedures on "
              f"the kiosk channel, {os.cpu_count()} CPU(s), side effects published "
              f"{'by the relay process' if relayed else 'after each commit'}")
        print(f"load average before the run: {' '.join(f'{x:.1f}' for x in os.getloadavg())} "
              "(other work on the machine inflates every figure)")

        def measured(name: str, clients: list[Terminal], n: int, action, target: float) -> None:
            cpu_before = _server_cpu_seconds(server.pid)
            start = time.perf_counter()
            latencies, errors = _run_phase(clients, n, action)
            seconds = time.perf_counter() - start
            cpu_after = _server_cpu_seconds(server.pid)
            cpu = (cpu_after - cpu_before
                   if cpu_before is not None and cpu_after is not None else None)
            _report(name, latencies, errors, seconds, target, cpu)

        measured("1 terminal: GET procedures/", terminals[:1], 100, list_procedures, 50)
        measured(f"{len(terminals)} terminals: GET procedures/", terminals, args.lists,
                 list_procedures, 50)
        measured("1 terminal: POST requests/", terminals[:1], 20, submit, 150)
        measured(f"{len(terminals)} terminals: POST requests/", terminals, args.submits,
                 submit, 150)
    finally:
        stack.close()
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=10)
        from django.db import connections

        connections.close_all()
        _drop_database(drop)
        shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
