"""`make bench`: runs each benchmark module and prints its figures.

    python -m bench              every benchmark
    python -m bench registers    one of them (registers, stats, letters)
"""

from __future__ import annotations

import importlib
import os
import sys

import django

BENCHMARKS = ["registers", "stats", "letters", "casework", "dashboards"]


def main(argv: list[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "attendance_portal.settings.local")
    # Workers run without DEBUG: its query log and cursor wrapper are not part of what is measured.
    os.environ.setdefault("DEBUG", "false")
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)  # a fresh checkout has an empty embedded database
    chosen = [a for a in argv if not a.startswith("-")] or BENCHMARKS
    for name in chosen:
        if name not in BENCHMARKS:
            print(f"unknown benchmark {name!r}; choose from {', '.join(BENCHMARKS)}", file=sys.stderr)
            return 2
        module = importlib.import_module(f"bench.{name}")
        print(f"== {name}", flush=True)
        module.run([a for a in argv if a.startswith("-")])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
