"""The fault scenarios: a small version of each runs in `make test`, the full one in `make faults`.

`make faults` sets FAULTS_FULL=1 and runs these tests (and the letters' exactly-once test) one at a time
with their output shown: each says what it did and what it found, and any loss or duplication fails it.
"""

from __future__ import annotations

import os

FULL = os.environ.get("FAULTS_FULL") == "1"


def scale(fast: int, full: int) -> int:
    """How big a scenario is: `fast` in the test suite, `full` under `make faults`."""
    return full if FULL else fast


def say(text: str) -> None:
    """What a scenario did, printed for `make faults` (pytest shows it with -s)."""
    print(f"  [fault] {text}", flush=True)  # noqa: T201
