"""Backups of the register database: `make backup` and `make restore-check FILE=...` (README: Backup and restore).

    python -m attendance_portal.devstack backup [FILE]         pg_dump (custom format) as the owner
    python -m attendance_portal.devstack restore-check FILE    restore FILE into a fresh database and compare

BACKUP_DATABASE=name works on another database of the same server (e.g. the load test's).

Works on the embedded PostgreSQL (its own pg_dump and pg_restore) and on an external one (the client tools on
PATH, DATABASE_OWNER_URL or DATABASE_URL). Not imported by Django: it runs before settings can be loaded.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse


def _tool(name: str) -> str:
    """The embedded server's own client tool (same version as the server), else the one on PATH."""
    try:
        import pgserver

        own = Path(pgserver.__file__).parent / "pginstall" / "bin" / name
        if own.exists():
            return str(own)
    except ImportError:
        pass
    found = shutil.which(name)
    if not found:
        raise SystemExit(f"error: {name} not found; install the PostgreSQL client tools")
    return found


def _owner(env: dict[str, str]) -> str:
    """The owner's URL, on BACKUP_DATABASE when that names another database of the same server."""
    url = env.get("DATABASE_OWNER_URL") or env["DATABASE_URL"]
    other = env.get("BACKUP_DATABASE")
    return urlparse(url)._replace(path=f"/{other}").geturl() if other else url


def backup(env: dict[str, str], target: str | None, base: Path) -> int:
    url = _owner(env)
    stamp = f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}"
    path = Path(target) if target else base / "var" / "backups" / f"attendance-{stamp}.dump"
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([_tool("pg_dump"), "--format=custom", "--file", str(path), "--dbname", url], check=True)
    print(f"backup written: {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


def restore_check(env: dict[str, str], source: str, base: Path) -> int:
    """Restore `source` into `<db>_restore_check` (made afresh), then compare it with the live database."""
    from .devstack import database_beside

    owner = _owner(env)
    restored_owner = database_beside(owner, "restore_check", fresh=True)
    name = urlparse(restored_owner).path.lstrip("/")
    subprocess.run([_tool("pg_restore"), "--exit-on-error", "--no-owner", "--dbname", restored_owner, source],
                   check=True)
    print(f"restored {source} into {name}")
    # Compared as the owner on both sides: the owner reads every school's rows, whatever the app role's policies.
    live_env = {**env, "DATABASE_URL": owner, "DATABASE_OWNER_URL": "", "DATABASE_REFUSE_PRIVILEGED": "false"}
    return subprocess.run([sys.executable, "manage.py", "restore_check", "--against", restored_owner], cwd=base,
                          env=live_env, check=False).returncode
