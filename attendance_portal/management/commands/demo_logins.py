"""Print the demo logins, one per role per school."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from attendance_portal.demo import DEMO_PASSWORD, demo_exists, demo_logins


class Command(BaseCommand):
    help = "List the demo accounts and where each one starts."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000/")

    def handle(self, *args: Any, url: str, **options: Any) -> None:
        if not demo_exists():
            self.stdout.write("No demo data loaded (run: python manage.py seed_demo).")
            return
        base = url.rstrip("/")
        self.stdout.write(f"\nDemo logins (password for all: {DEMO_PASSWORD})")
        self.stdout.write(f"  {'username':<24} {'role':<48} start page")
        for username, role, where in demo_logins():
            self.stdout.write(f"  {username:<24} {role:<48} {base}{where}")
