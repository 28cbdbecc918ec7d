"""The load test's CPU accounting: a process tree's seconds include a busy child, alive or exited, and the
printed line divides by the peak and by the saves."""

from __future__ import annotations

import subprocess
import sys
import time

from loadtest.cpu import Snapshot, tree_seconds
from loadtest.report import cpu_line

BUSY = "import time\nend = time.process_time() + {s}\nwhile time.process_time() < end: pass\n"


def test_a_tree_counts_a_busy_child_while_it_runs_and_after_it_exits():
    # A parent that starts a child burning 0.4 s of CPU, waits for it, then sleeps: the child's seconds
    # must stay in the parent's tree after the child has exited and been reaped.
    script = (f"import subprocess, sys, time\nsubprocess.run([sys.executable, '-c', {BUSY.format(s=0.4)!r}])\n"
              "print('done', flush=True)\ntime.sleep(30)\n")
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        before = Snapshot({"tree": [parent.pid]})
        assert parent.stdout is not None and parent.stdout.readline().strip() == "done"
        after = Snapshot({"tree": [parent.pid]})
        assert after.since(before)["tree"] >= 0.35
        assert tree_seconds(parent.pid) >= 0.35
    finally:
        parent.kill()
        parent.wait()
    time.sleep(0.05)
    assert tree_seconds(parent.pid) == 0.0  # gone: nothing to count, no error


def test_the_cpu_line_gives_cores_busy_and_milliseconds_per_save():
    line = cpu_line({"web": 60.0, "postgres": 15.0, "locust": 9.0}, elapsed=60.0, saves=1500)
    assert "web 1.00 (40 ms/save)" in line
    assert "postgres 0.25 (10 ms/save)" in line
    assert line.index("web") < line.index("postgres") < line.index("locust")


def test_the_machine_speed_is_the_best_of_several_timings_of_the_reference_workload():
    from loadtest.cpu import machine_speed_ms

    started = time.perf_counter()
    best = machine_speed_ms(repeat=3)
    spent = (time.perf_counter() - started) * 1000
    assert 0 < best <= spent / 3 * 1.01  # the best of three is at most their mean


def test_short_lived_workers_count_what_they_used_while_seen():
    from loadtest.cpu import Workers

    # Each child burns a fixed amount of CPU, says so, then sleeps: what it used is known whatever the load.
    said = "import time\nend = time.process_time() + {s}\nwhile time.process_time() < end: pass\n" \
           "print('burnt', flush=True)\ntime.sleep(30)\n"
    already = subprocess.Popen([sys.executable, "-c", said.format(s=0.3)], stdout=subprocess.PIPE, text=True)
    late = None
    try:
        assert already.stdout is not None and already.stdout.readline().strip() == "burnt"
        workers = Workers()
        workers.observe([already.pid])  # running before the first reading: its 0.3 s is not counted
        late = subprocess.Popen([sys.executable, "-c", said.format(s=0.4)], stdout=subprocess.PIPE, text=True)
        assert late.stdout is not None and late.stdout.readline().strip() == "burnt"
        workers.observe([already.pid, late.pid, 999_999_999])  # a pid gone by now is skipped
    finally:
        for child in (already, late):
            if child is not None:
                child.kill()
                child.wait()
    assert workers.readings == 2
    assert workers.first[already.pid] >= 0.29  # its baseline, not counted
    assert 0 <= workers.last[already.pid] - workers.first[already.pid] < 0.2  # it has slept since
    assert workers.first[late.pid] == 0.0  # started after the first reading: all of it counts
    assert 0.39 <= workers.last[late.pid] <= 0.6
    assert workers.seconds == sum(workers.last[p] - workers.first[p] for p in (already.pid, late.pid))
