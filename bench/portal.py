"""Portal benchmark: `python -m bench.portal [--rounds 5] [--requests 400] [--concurrency 4]`.

Migrates a fresh SQLite database (or the DATABASE_URL one), loads the catalogue and the demo
pages, serves the product with gunicorn on loopback (sync workers, one per core, persistent
database connections) and measures requests/s and p50/p99 latency of the home page and a
service page against two floors served by the same gunicorn in the same run: a bare Django
view rendering a template of similar size, and a bare view returning a short text (both in
bench/portal_views.py, never shipped). Runs alternate between the four URLs, at least five
each, first with the page cache off then on; it prints the medians and the ratios.

Targets: anonymous pages >= 0.7x the bare template view's requests/s with p99 <= 1.5x its
p99 (cache off); with the page cache on, >= 0.6x the bare short-text view's requests/s.

The load generator is pure Python: one process per concurrent client (no GIL sharing), each
with its own connection, a bounded number of requests, loopback only.
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing as mp
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLOOR_TEMPLATE = "/bench/floor/template/"
FLOOR_TEXT = "/bench/floor/text/"


@dataclass
class Run:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


def _client(host: str, port: int, path: str, count: int, start: mp.Event,
            results: mp.Queue) -> None:
    latencies: list[float] = []
    errors = 0
    connection = http.client.HTTPConnection(host, port, timeout=30)
    start.wait()
    for _ in range(count):
        began = time.perf_counter()
        try:
            connection.request("GET", path, headers={"Host": f"{host}:{port}"})
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                errors += 1
            if response.getheader("Connection", "").lower() == "close":
                connection.close()
        except (OSError, http.client.HTTPException):
            errors += 1
            connection.close()
        latencies.append(time.perf_counter() - began)
    connection.close()
    results.put((latencies, errors))


def measure(port: int, path: str, *, requests: int, concurrency: int) -> Run:
    context = mp.get_context("fork")
    start = context.Event()
    results = context.Queue()
    per_client = max(1, requests // concurrency)
    clients = [context.Process(target=_client,
                               args=("127.0.0.1", port, path, per_client, start, results))
               for _ in range(concurrency)]
    for client in clients:
        client.start()
    time.sleep(0.2)  # every client is waiting on the start line
    began = time.perf_counter()
    start.set()
    latencies: list[float] = []
    errors = 0
    for _ in clients:
        client_latencies, client_errors = results.get()
        latencies.extend(client_latencies)
        errors += client_errors
    elapsed = time.perf_counter() - began
    for client in clients:
        client.join()
    latencies.sort()
    return Run(
        rps=len(latencies) / elapsed,
        p50_ms=1000 * latencies[len(latencies) // 2],
        p99_ms=1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        errors=errors,
    )


def _manage(env: dict[str, str], *args: str) -> str:
    completed = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                               check=False, capture_output=True, text=True)
    if completed.returncode != 0:
        sys.stderr.write(completed.stdout[-2000:] + completed.stderr[-4000:])
        raise SystemExit(f"manage.py {' '.join(args)} failed")
    return completed.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_ready(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("gunicorn stopped before serving")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", FLOOR_TEXT)
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("gunicorn did not answer in time")


def _serve(env: dict[str, str], port: int, workers: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--workers", str(workers),
         "--worker-class", "sync", "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
         "--access-logfile", "/dev/null"],
        cwd=ROOT, env=env)


def _median(runs: list[Run], attr: str) -> float:
    return statistics.median(getattr(run, attr) for run in runs)


def bench_mode(env: dict[str, str], *, label: str, cache_seconds: int, urls: dict[str, str],
               rounds: int, requests: int, concurrency: int, workers: int) -> dict[str, dict]:
    env = {**env, "PAGE_CACHE_SECONDS": str(cache_seconds)}
    port = _free_port()
    server = _serve(env, port, workers)
    try:
        _wait_ready(port, server)
        for path in urls.values():  # warm every worker: imports, templates, connections
            measure(port, path, requests=workers * 40, concurrency=concurrency)
        runs: dict[str, list[Run]] = {name: [] for name in urls}
        names = list(urls)
        for round_number in range(rounds):
            # alternate, and rotate who goes first so no URL always runs warm or cold
            order = names[round_number % len(names):] + names[:round_number % len(names)]
            for name in order:
                runs[name].append(measure(port, urls[name], requests=requests,
                                          concurrency=concurrency))
    finally:
        server.terminate()
        server.wait(timeout=30)
    summary = {name: {"rps": _median(r, "rps"), "p50": _median(r, "p50_ms"),
                      "p99": _median(r, "p99_ms"), "errors": sum(x.errors for x in r),
                      "runs": len(r)} for name, r in runs.items()}
    print(f"\n== {label} (PAGE_CACHE_SECONDS={cache_seconds}; {rounds} alternating runs of "
          f"{requests} requests per URL, {concurrency} clients, {workers} sync workers)")
    print(f"{'url':<18}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}")
    for name, figures in summary.items():
        print(f"{name:<18}{figures['rps']:>10.1f}{figures['p50']:>10.2f}"
              f"{figures['p99']:>10.2f}{figures['errors']:>8}")
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--workdir", type=Path, default=None,
                        help="keep the SQLite database here and reuse it on the next run")
    args = parser.parse_args()
    if args.rounds < 5:
        parser.error("at least 5 runs per URL")

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="guichet-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.portal_settings",
           "GUICHET_VAR_DIR": str(workdir), "MEDIA_ROOT": str(workdir / "media"),
           "DB_CONN_MAX_AGE": "600", "LOG_LEVEL": "WARNING"}
    env.setdefault("DATABASE_URL", f"sqlite:///{workdir / 'bench.sqlite3'}")
    database = env["DATABASE_URL"].split("@")[-1]
    print(f"database: {database}; cache: {env.get('REDIS_URL') or 'local memory per worker'}")
    try:
        started = time.perf_counter()
        if not (args.workdir and (workdir / "bench.sqlite3").exists()):
            _manage(env, "migrate", "--noinput", "--skip-checks")
            _manage(env, "load_catalogue", "--skip-checks")
            _manage(env, "portal_demo", "--skip-checks")
            print(f"set-up (migrate, catalogue, demo pages): "
                  f"{time.perf_counter() - started:.1f}s")
        service_url = _manage(env, "shell", "-c", (
            "from portal.models import ServicePage;"
            "print(ServicePage.objects.live().filter(locale__language_code='fr')"
            ".order_by('path').first().url)")).strip().splitlines()[-1]
        urls = {"home": "/fr/", "service": service_url, "floor template": FLOOR_TEMPLATE,
                "floor text": FLOOR_TEXT}
        print("urls: " + ", ".join(f"{k}={v}" for k, v in urls.items()))
        common = {"urls": urls, "rounds": args.rounds, "requests": args.requests,
                  "concurrency": args.concurrency, "workers": args.workers}
        off = bench_mode(env, label="page cache off", cache_seconds=0, **common)
        on = bench_mode(env, label="page cache on", cache_seconds=300, **common)
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)

    print("\n== ratios (medians)")
    floor_t, floor_x = off["floor template"], off["floor text"]
    verdicts = []
    for name in ("home", "service"):
        rps_ratio = off[name]["rps"] / floor_t["rps"]
        p99_ratio = off[name]["p99"] / floor_t["p99"]
        ok = rps_ratio >= 0.7 and p99_ratio <= 1.5
        verdicts.append(ok)
        print(f"cache off  {name:<8} req/s {rps_ratio:5.2f}x bare template (target >= 0.70), "
              f"p99 {p99_ratio:5.2f}x (target <= 1.50)  {'OK' if ok else 'MISSED'}")
    floor_x_on = on["floor text"]
    for name in ("home", "service"):
        ratio = on[name]["rps"] / floor_x_on["rps"]
        ok = ratio >= 0.6
        verdicts.append(ok)
        print(f"cache on   {name:<8} req/s {ratio:5.2f}x bare short text (target >= 0.60)"
              f"  {'OK' if ok else 'MISSED'}")
    print(f"(bare short text, cache-off server: {floor_x['rps']:.1f} req/s)")
    print("all targets met" if all(verdicts) else "some targets missed")


if __name__ == "__main__":
    main()
