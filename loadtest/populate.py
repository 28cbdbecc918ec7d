"""`python -m loadtest.populate SCHOOLS DAY PLAN`: load the synthetic population (as the owner role)."""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path

import django


def main(argv: list[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "attendance_portal.settings.loadtest")
    django.setup()
    from .population import population_load

    sizes = population_load(schools=int(argv[0]), day=dt.date.fromisoformat(argv[1]), out=Path(argv[2]))
    print(f"population: {sizes['schools']} schools, {sizes['groups']:,} registration groups, "
          f"{sizes['pupils']:,} pupils loaded and analysed in {sizes['seconds']:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
