"""Signing benchmark: `python -m bench.signing [--documents 60] [--rounds 3] [--cpu 0]`.

Documents rendered and sealed per second on one core (the process pins itself, and the
Celery worker it starts, to one CPU), next to floors measured in the same run:

- render: the PDF alone (reportlab, a household-composition certificate from the register);
- render + raw signature: the same plus one RSA-2048 signature with the key already loaded
  (the cheapest possible "sealed" document);
- render + seal: the same plus the PAdES seal by pyHanko with the key kept loaded and the
  signature size reserved (what the product does);
- seal step alone: the per-document cost of pyHanko on a rendered PDF;
- service: signing.services.document_issue (database, render, seal, file storage, crm
  transition) called directly;
- task path: the same issued through crm's outbox -> Redis -> a Celery worker (solo pool),
  measured at the worker in steady state plus the relay's publish time per document; each
  request is submitted in its own transaction, so each document has its own message (as in
  production), not one batch for the round.

Targets (issue 6): render + seal >= 0.85x render + raw signature (documents/s); seal step
<= 20 ms with RSA-2048; task path <= 1.10x the direct path per document.

The key is the development key of signing.devkeys in a temporary folder: a SoftHSM token
(PKCS#11) where softhsm2-util is installed, else a PKCS#12 file. The database is a fresh
SQLite file unless DATABASE_URL is set; the broker is Redis at --redis (a database this
benchmark empties first).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _median_rate(samples: list[float]) -> float:
    return statistics.median(samples)


def _setup(var_dir: str, redis_url: str) -> None:
    os.environ["GUICHET_VAR_DIR"] = var_dir
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.local"
    os.environ["REDIS_URL"] = redis_url
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "false"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["SITE_URL"] = "http://127.0.0.1:8000"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    # Before anything is published: document issuing on its own queue (see signing_worker).
    import bench.signing_worker  # noqa: F401


def _prepare_register():
    from django.core.management import call_command

    from identity.models import Address, Household, Person, User

    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)  # a fresh run every time
    call_command("load_catalogue", verbosity=0)
    address = Address.objects.create(street="Rue de la Loi", number="16", postal_code="1000",
                                     municipality="Bruxelles")
    home = Household.objects.create(address=address)
    head = Person.objects.create(number="85073003328", number_kind="national",
                                 first_names="Marie", last_name="Dupont",
                                 birth_date=dt.date(1985, 7, 30), gender="F", address=address,
                                 household=home, is_household_head=True)
    for i, name in enumerate(["Jan", "Lotte", "Emma"]):
        Person.objects.create(number=f"1506101{i:02d}67", number_kind="national",
                              first_names=name, last_name="Peeters",
                              birth_date=dt.date(2015, 6, 10), gender="F", address=address,
                              household=home)
    return User.objects.create_user(username="bench", person=head)


def _submit(user, count: int, *, cpu=None) -> tuple[list, float]:
    """`count` requests submitted as citizens do, one transaction each; with `cpu` (a
    clock), also the CPU time spent after each submission's work, in its commit: the
    outbox relay publishing the document message."""
    from django.db import transaction

    from catalogue.models import Procedure
    from crm.services import case_submit
    from identity.constants import AssuranceLevel

    procedure = Procedure.objects.get(code="household-composition")
    Procedure.objects.filter(pk=procedure.pk).update(
        fee_web=0, one_open_case_per_person=False)
    procedure.refresh_from_db()
    cases, relay = [], 0.0
    for _ in range(count):
        with transaction.atomic():
            cases.append(case_submit(
                procedure=procedure, requester=user, channel="web",
                data={"purpose": "employer", "document_language": "fr", "copies": 1},
                assurance_level=AssuranceLevel.HIGH, language="fr"))
            started = cpu() if cpu else 0.0
        relay += (cpu() - started) if cpu else 0.0
    return cases, relay


def _time_loop(count: int, body) -> float:
    """Documents per second of `body(i)` over `count` runs."""
    started = time.perf_counter()
    for i in range(count):
        body(i)
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--documents", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cpu", type=int, default=0)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/6")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.cpu})
    var_dir = tempfile.mkdtemp(prefix="guichet-bench-signing-")
    _setup(var_dir, args.redis)

    import redis
    from django.utils import timezone

    from signing import backends, devkeys, services
    from signing.models import IssuedDocument
    from signing.render import render_document

    redis.Redis.from_url(args.redis).flushdb()
    key = devkeys.ensure_dev_key()
    user = _prepare_register()
    sealer = backends.get_sealer()
    case = _submit(user, 1)[0][0]
    base = services.build_render_input(case=case, code=services.new_verification_code(),
                                       issued_at=timezone.now())
    options = services.seal_options("fr")
    inputs = [dataclasses.replace(base, verification_code=services.format_code(
        services.new_verification_code())) for _ in range(args.documents)]
    # Warm up: fonts, the key session, pyHanko's imports.
    sealer.seal(render_document(base), options=options)
    sealer.raw_sign(b"warm-up")

    # CPU seconds, not wall time: the machine is shared, and "per core" means per CPU-second
    # of the process doing the work (SoftHSM and SQLite run inside it, so they count).
    cpu = time.process_time
    rates: dict[str, list[float]] = {k: [] for k in (
        "render", "render_raw", "render_seal", "seal_ms", "service", "task")}
    rendered = [render_document(inp) for inp in inputs]
    for _round in range(args.rounds):
        spent = {"render": 0.0, "render_raw": 0.0, "render_seal": 0.0, "seal": 0.0}
        # Interleaved per document, so any disturbance hits every variant alike.
        for i in range(args.documents):
            t0 = cpu()
            render_document(inputs[i])
            t1 = cpu()
            sealer.raw_sign(render_document(inputs[i]))
            t2 = cpu()
            sealer.seal(render_document(inputs[i]), options=options)
            t3 = cpu()
            sealer.seal(rendered[i], options=options)
            t4 = cpu()
            spent["render"] += t1 - t0
            spent["render_raw"] += t2 - t1
            spent["render_seal"] += t3 - t2
            spent["seal"] += t4 - t3
        for name in ("render", "render_raw", "render_seal"):
            rates[name].append(args.documents / spent[name])
        rates["seal_ms"].append(spent["seal"] * 1000 / args.documents)

        cases, _relay = _submit(user, args.documents)
        started = cpu()
        for c in cases:
            services.document_issue(case=c)
        rates["service"].append(args.documents / (cpu() - started))

    # Task path: outbox rows relayed to Redis, issued by one Celery worker on the same core.
    # Only the document topic is relayed here, to its own queue (notification e-mails and
    # search indexing are other workers' business and would be counted against signing).
    from bench.signing_worker import SIGNING_QUEUE
    from crm import outbox
    from crm.constants import Topic

    outbox.ROUTES = {Topic.DOCUMENT_ISSUE: outbox.ROUTES[Topic.DOCUMENT_ISSUE]}
    redis.Redis.from_url(args.redis).flushdb()
    env = {**os.environ}
    if key.get("softhsm2_conf"):
        env["SOFTHSM2_CONF"] = key["softhsm2_conf"]
    worker = subprocess.Popen(  # noqa: S603 - fixed arguments
        ["taskset", "-c", str(args.cpu), sys.executable, "-m", "celery", "-A",
         "bench.signing_worker", "worker", "-Q", SIGNING_QUEUE, "--pool", "solo",
         "--without-heartbeat", "--without-mingle", "--without-gossip", "-l", "WARNING"], cwd=ROOT, env=env)
    try:
        warm, _relay = _submit(user, 1)  # the worker loads the key on its first document
        _wait_for(lambda: IssuedDocument.objects.filter(case__in=warm).count() == 1, 300)
        for _round in range(args.rounds):
            worker_before = _cpu_seconds(worker.pid)
            # One message per request, as in production (not one batch for the round).
            cases, relay_cpu = _submit(user, args.documents, cpu=cpu)
            _wait_for(lambda batch=cases: IssuedDocument.objects.filter(
                case__in=batch).count() == args.documents, 900)
            worker_cpu = _cpu_seconds(worker.pid) - worker_before
            rates["task"].append(args.documents / (worker_cpu + relay_cpu))
    finally:
        worker.terminate()
        worker.wait(timeout=30)

    med = {k: _median_rate(v) for k, v in rates.items()}
    print(f"signing benchmark: {args.documents} documents x {args.rounds} rounds on CPU "
          f"{args.cpu}, key {key.get('backend', '?')} RSA-2048, seal {services.seal_level()}, "
          f"figures per CPU-second (median of rounds)")
    print(f"  render alone                 {med['render']:8.1f} documents/s")
    print(f"  render + raw signature       {med['render_raw']:8.1f} documents/s  (floor)")
    print(f"  render + seal (pyHanko)      {med['render_seal']:8.1f} documents/s")
    print(f"  seal step alone              {med['seal_ms']:8.1f} ms/document")
    print(f"  document_issue service       {med['service']:8.1f} documents/s")
    print(f"  outbox -> Celery -> document {med['task']:8.1f} documents/s")
    ratio = med["render_seal"] / med["render_raw"]
    overhead = med["service"] / med["task"]
    print(f"  render+seal / render+raw     {ratio:8.2f}   (target >= 0.85)")
    print(f"  seal step                    {med['seal_ms']:8.1f}   ms (target <= 20)")
    print(f"  task path / direct service   {overhead:8.2f}   (target <= 1.10)")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of another process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait_for(condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.25)
    raise TimeoutError("the Celery worker did not issue the documents in time")


if __name__ == "__main__":
    main()
