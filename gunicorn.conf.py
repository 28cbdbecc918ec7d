"""The web server's settings, wherever it runs: production's image (Dockerfile) and the load test
(`python -m loadtest`) both start gunicorn with this file, so the load test measures the server production runs.

- Sync workers, two per core (WEB_CONCURRENCY to change): a register request is Python on the CPU and waits on
  PostgreSQL, and the load test found two per core the best on this kind of machine (README: Load test).
- The application is loaded once, in the master, before the workers are forked (`preload_app`): a worker starts
  in milliseconds, at start-up and when it is replaced after `max_requests`, and the workers share the loaded
  code's memory. Replacing workers bounds any slow growth of one worker's memory; a new worker's first requests
  connect to the database and fill its caches, so it is done every 10,000 requests or so (about every 8 minutes
  for a worker at the morning peak), not every 2,000 (every minute and a half).
- What was loaded is frozen out of the garbage collector's reach as the application is made
  (`attendance_portal/wsgi.py`), so a worker's collections neither walk it again nor write to its pages (which
  would copy them into the worker).
- Nothing connects to the database or Redis while the application loads, so no connection is shared by forks.
"""

from __future__ import annotations

import os

bind = os.environ.get("BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY") or 2 * (os.cpu_count() or 1))
worker_class = "sync"
timeout = 60
max_requests = 10_000
max_requests_jitter = 1_000
preload_app = True
