"""Where the machine's CPU went during the peak: each part of the stack's processes, measured from /proc.

A part is a tree of processes: gunicorn's master and workers, the Celery worker, beat, and this stack's
PostgreSQL postmaster with its backends and Redis (found by data directory or port). Its CPU is what every
live process of the tree has used plus what its exited children used (a backend that closed its
connection), so snapshots before and after the peak give the seconds each part spent. Locust's CPU is
measured from its exit (`os.times()`'s children), since it is a process the runner waits for.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlparse

import psutil


def tree_seconds(pid: int) -> float:
    """CPU seconds (user + system) of the process, its live descendants and their reaped children."""
    try:
        root = psutil.Process(pid)
        members = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for process in members:
        try:
            t = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += t.user + t.system + t.children_user + t.children_system
    return total


def listening_on(url: str) -> list[int]:
    """The local process accepting connections on the URL's TCP port (none for a server elsewhere)."""
    parsed = urlparse(url)
    if parsed.hostname not in ("127.0.0.1", "localhost", "::1") or not parsed.port:
        return []
    return sorted({c.pid for c in psutil.net_connections(kind="tcp")
                   if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == parsed.port and c.pid})


def postmaster(pgdata: str | None, url: str) -> list[int]:
    """The embedded server's postmaster (first line of postmaster.pid), or a local server's listener."""
    if pgdata:
        found = Path(pgdata) / "postmaster.pid"
        if found.exists():
            return [int(found.read_text().split()[0])]
    return listening_on(url)


class Snapshot:
    """CPU seconds of each named part at one moment."""

    def __init__(self, parts: dict[str, Iterable[int]]) -> None:
        self.parts = {name: list(pids) for name, pids in parts.items()}
        self.seconds = {name: sum(tree_seconds(pid) for pid in pids) for name, pids in self.parts.items()}

    def since(self, earlier: Snapshot) -> dict[str, float]:
        return {name: self.seconds[name] - earlier.seconds.get(name, 0.0) for name in self.seconds}


def parts_of(children: dict[str, int], *, pgdata: str | None, database_url: str,
             redis_url: str) -> dict[str, list[int]]:
    """The stack's parts: the runner's own children by name, and this stack's database and Redis servers
    when they run on this machine."""
    parts = {name: [pid] for name, pid in children.items()}
    parts["postgres"] = postmaster(pgdata, database_url)
    parts["redis"] = listening_on(redis_url)
    return parts


class Workers:
    """CPU seconds of short-lived processes seen by their pids while they run (PostgreSQL's autovacuum
    workers, which exit into the postmaster's children and so are counted in its part without a name). Each
    pid's latest reading is kept; a process already running at the first reading counts only what it used
    afterwards. What it used between its last reading and its exit is missed, so the figure is a floor."""

    def __init__(self) -> None:
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.readings = 0

    def observe(self, pids: Iterable[int]) -> None:
        for pid in pids:
            try:
                times = psutil.Process(pid).cpu_times()
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            used = times.user + times.system
            self.first.setdefault(pid, used if self.readings == 0 else 0.0)
            self.last[pid] = used
        self.readings += 1

    @property
    def seconds(self) -> float:
        return sum(self.last[pid] - self.first[pid] for pid in self.last)


def children_seconds() -> float:
    """CPU seconds of this process's reaped children so far."""
    usage = os.times()
    return usage.children_user + usage.children_system


# A fixed pure-Python workload, timed on one core before and after the peak.
REFERENCE = "sum(i * i for i in range(1_000_000))"


def machine_speed_ms(repeat: int = 5) -> float:
    """Milliseconds the reference workload takes here (the best of `repeat`). Every figure of the load test
    scales with the machine's speed, which differs between machines and, on a shared one, from hour to
    hour: printed beside them, it lets two runs be compared."""
    import timeit

    return min(timeit.repeat(REFERENCE, number=1, repeat=repeat)) * 1000
