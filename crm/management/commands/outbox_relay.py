"""`manage.py outbox_relay`: the relay process that hands committed outbox rows to Celery.

Run it beside the workers when CRM_OUTBOX_RELAY_ON_COMMIT is off (the production default):
requests then only write their rows, and this process publishes them a few tens of
milliseconds after their commit (see crm.outbox.relay_run). Several relays may run at once:
each locks the rows it publishes. Stops cleanly on SIGTERM or SIGINT.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from crm.outbox import RelayResult, relay_run


class Command(BaseCommand):
    help = "Publish the committed outbox rows to the broker, every few tens of milliseconds."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval-ms", type=int, default=None,
                            help="milliseconds between two passes "
                                 "(default: CRM_OUTBOX_RELAY_INTERVAL_MS)")

    def handle(self, *args: Any, interval_ms: int | None, **options: Any) -> None:
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        verbosity = options["verbosity"]

        def report(result: RelayResult) -> None:
            if verbosity > 1 and result.handled:
                self.stdout.write(f"published {result.dispatched}, failed {result.failed}")

        self.stdout.write("outbox relay: running")
        self.stdout.flush()
        relay_run(stop=stop, interval=None if interval_ms is None else interval_ms / 1000,
                  on_pass=report)
        self.stdout.write("outbox relay: stopped")
