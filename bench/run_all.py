"""Every benchmark in turn: `python -m bench.run_all [portal kiosk crm signing payments]`.

Each one prints its own figures and ratios (see its docstring). The CIRM benchmark needs
PostgreSQL and Redis (DATABASE_URL, REDIS_URL) and a database of its own with a million
generated cases; it is skipped, with the reason, when they are not configured.
"""

from __future__ import annotations

import os
import subprocess
import sys

BENCHES = ["portal", "kiosk", "signing", "payments", "crm"]


def main() -> int:
    chosen = sys.argv[1:] or BENCHES
    unknown = sorted(set(chosen) - set(BENCHES))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; choose among {', '.join(BENCHES)}")
        return 2
    failed = []
    for name in chosen:
        if name == "crm" and not (os.environ.get("DATABASE_URL", "").startswith("postgres")
                                  and os.environ.get("REDIS_URL")):
            print("== crm: skipped (needs DATABASE_URL on PostgreSQL and REDIS_URL)\n")
            continue
        print(f"== {name}", flush=True)
        if subprocess.call([sys.executable, "-m", f"bench.{name}"]) != 0:  # noqa: S603
            failed.append(name)
        print(flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
