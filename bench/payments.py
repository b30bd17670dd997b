"""Payments benchmark: `python -m bench.payments [--payments 200]`.

Prints, for N cases waiting for their fee (a fresh SQLite database unless DATABASE_URL is set,
localstripe on a free loopback port):

- start: payments.services.payment_start per second (a PaymentIntent created at localstripe
  with its idempotency key, the payment row and its ledger event);
- webhook, first delivery: signed payment_intent.succeeded events per second through the real
  endpoint (Django test client: signature check, row lock, ledger, case transition in crm);
- webhook, replay: the same events delivered again (the ledger recognises them and changes
  nothing);
- floor: signature verification alone per second (the stripe library's HMAC check).

Against PostgreSQL: `DATABASE_URL=postgres://postgres@127.0.0.1:5432/<an empty database>`.
localstripe itself is slow to create objects (it pickles its whole store to disk on every
write), so "start" measures localstripe more than Guichet.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--payments", type=int, default=200)
    args = parser.parse_args()

    var_dir = tempfile.mkdtemp(prefix="bench-payments-")
    port = _free_port()
    os.environ["GUICHET_VAR_DIR"] = var_dir
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.local"
    os.environ["STRIPE_API_BASE"] = f"http://127.0.0.1:{port}"
    os.environ["STRIPE_WEBHOOK_SECRET"] = "whsec_bench"  # noqa: S105 - a local fake
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["ALLOWED_HOSTS"] = "testserver,127.0.0.1"
    os.environ["CRM_OUTBOX_RELAY_ON_COMMIT"] = "false"
    sys.path.insert(0, str(ROOT))
    localstripe = subprocess.Popen(
        [sys.executable, "-m", "localstripe", "--port", str(port), "--from-scratch"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        run(args.payments, port)
    finally:
        localstripe.terminate()
        localstripe.wait(timeout=10)


def run(n: int, port: int) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from catalogue.models import Procedure
    from crm import services as crm_services
    from identity.constants import AssuranceLevel
    from identity.models import Person, User
    from payments import services, stripe_api
    from payments.devstripe import wait_until_up

    if not wait_until_up(f"http://127.0.0.1:{port}"):
        raise SystemExit("localstripe did not start")
    call_command("migrate", verbosity=0)
    procedure = Procedure.objects.create(
        code="bench-extract", name_fr="Extrait", name_nl="Uittreksel", name_en="Extract",
        name_de="Auszug", category="civil_status", department="civil_status",
        workflow_kind="agent_review", delivery="signed_pdf", fee_web=500,
        required_assurance_level=AssuranceLevel.LOW, one_open_case_per_person=False,
        form_schema={})
    cases = []
    for i in range(n):
        person = Person.objects.create(number=f"{90010100000 + i:011d}", number_kind="national",
                                       gender="F", first_names="Bench", last_name=f"P{i}",
                                       birth_date="1990-01-01")
        user = User.objects.create_user(username=f"bench{i}", person=person)
        cases.append(crm_services.case_submit(procedure=procedure, requester=user,
                                              channel="web", data={},
                                              assurance_level=AssuranceLevel.HIGH))

    t0 = time.perf_counter()
    payments = [services.payment_start(case=case, provider="stripe") for case in cases]
    start_rate = n / (time.perf_counter() - t0)

    bodies = []
    for payment in payments:
        event = {"id": f"evt_bench_{payment.pk}", "type": "payment_intent.succeeded",
                 "created": int(time.time()),
                 "data": {"object": {"id": payment.provider_reference, "amount": 500,
                                     "currency": "eur", "status": "succeeded"}}}
        payload = json.dumps(event)
        bodies.append((payload, stripe_api.sign_webhook_payload(
            payload=payload, secret="whsec_bench")))  # noqa: S106

    client = Client()
    # Warm up (URL conf import, first connection) with an event we ignore.
    warm = json.dumps({"id": "evt_warm", "type": "customer.created", "created": 1,
                       "data": {"object": {"id": "cus_1"}}})
    client.post("/webhooks/stripe/", data=warm, content_type="application/json",
                HTTP_STRIPE_SIGNATURE=stripe_api.sign_webhook_payload(
                    payload=warm, secret="whsec_bench"))  # noqa: S106

    def deliver() -> float:
        t = time.perf_counter()
        for payload, header in bodies:
            response = client.post("/webhooks/stripe/", data=payload,
                                   content_type="application/json",
                                   HTTP_STRIPE_SIGNATURE=header)
            if response.status_code != 200:
                raise SystemExit(f"webhook answered {response.status_code}")
        return n / (time.perf_counter() - t)

    if os.environ.get("BENCH_PROFILE"):
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        first_rate = profiler.runcall(deliver)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
    else:
        first_rate = deliver()
    replay_rate = deliver()
    t = time.perf_counter()
    for payload, header in bodies:
        stripe_api.verify_webhook(payload=payload.encode(), signature_header=header)
    verify_rate = n / (time.perf_counter() - t)

    from payments.models import Payment

    settled = Payment.objects.filter(state="succeeded").count()
    print(f"payments benchmark: {n} cases, database {django.db.connection.vendor}")
    print(f"  start (PaymentIntent at localstripe)  {start_rate:8.1f} /s")
    print(f"  webhook, first delivery               {first_rate:8.1f} events/s")
    print(f"  webhook, replay (no change)           {replay_rate:8.1f} events/s")
    print(f"  floor: signature check alone          {verify_rate:8.1f} /s")
    print(f"  settled payments: {settled} of {n} (each exactly once)")


if __name__ == "__main__":
    main()
