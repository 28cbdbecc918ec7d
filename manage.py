#!/usr/bin/env python
"""Django's command-line utility, with configuration errors reported as one clear line."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "attendance_portal.settings.local")
    from django.core.exceptions import ImproperlyConfigured

    try:
        from django.core.management import execute_from_command_line
        from django.db.utils import OperationalError

        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:
        sys.exit(f"configuration error: {exc}")
    except OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
        sys.exit(f"database error: cannot use the database at DATABASE_URL: {first}")


if __name__ == "__main__":
    main()
