"""localstripe for `make run`: a fake, stateful Stripe on loopback.

localstripe is GPL-3 and a development dependency: it is started here as its own process
(`python -m localstripe`), never imported. Its webhook is pointed at our endpoint so a payment
made in the browser moves the case on like in production.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from django.conf import settings
from django.urls import reverse


def _reachable(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/js.stripe.com/v3/", timeout=1):  # noqa: S310
            return True
    except (urllib.error.URLError, OSError):
        return False


def configure_webhook(*, api_base: str, name: str, url: str, secret: str) -> None:
    data = urllib.parse.urlencode({"url": url, "secret": secret}).encode()
    request = urllib.request.Request(f"{api_base}/_config/webhooks/{name}", data=data,  # noqa: S310
                                     method="POST")
    with urllib.request.urlopen(request, timeout=5):  # noqa: S310
        pass


def wait_until_up(base: str, *, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _reachable(base):
            return True
        time.sleep(0.2)
    return False


def start_localstripe() -> subprocess.Popen | None:
    """Start localstripe on STRIPE_API_BASE's loopback port unless it already runs, then
    register our webhook with it. Does nothing when Stripe is the real one. Returns the
    process it started, if any (it keeps running after `make run` stops serving)."""
    base = settings.STRIPE_API_BASE.rstrip("/")
    parsed = urllib.parse.urlparse(base)
    if parsed.hostname not in {"127.0.0.1", "localhost", "::1"}:
        return None
    process = None
    if not _reachable(base):
        if shutil.which("localstripe") is None and not _module_available():
            print("localstripe is not installed: online payments are off (pip install -e '.[dev]')")
            return None
        log_path = Path(settings.VAR_DIR) / "localstripe.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log = log_path.open("ab")
        process = subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
            # --from-scratch: localstripe pickles its store to a fixed /tmp file that every
            # instance on the machine (tests too) writes; never load another one's.
            [sys.executable, "-m", "localstripe", "--port", str(parsed.port or 8420),
             "--from-scratch"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        if not wait_until_up(base):
            print(f"localstripe did not start: see {log_path}")
            return process
    webhook_url = settings.SITE_URL.rstrip("/") + reverse("payments_stripe_webhook")
    configure_webhook(api_base=base, name="guichet", url=webhook_url,
                      secret=settings.STRIPE_WEBHOOK_SECRET)
    print(f"localstripe: {base} (webhooks to {webhook_url})")
    return process


def _module_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("localstripe") is not None
