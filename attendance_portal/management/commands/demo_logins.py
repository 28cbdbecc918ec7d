"""Print the demo logins, one per role per school."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from accounts.demo import demo_devices_ensure, demo_key_base32
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
        demo_devices_ensure([username for username, _, _ in demo_logins()])
        self.stdout.write(f"\nDemo logins (password for all: {DEMO_PASSWORD})")
        self.stdout.write(f"Staff accounts then ask for a two-step sign-in code: add the demo key {demo_key_base32()} "
                          "to an authenticator app, or run: make manage ARGS=demo_code")
        self.stdout.write(f"  {'username':<24} {'role':<48} start page")
        for username, role, where in demo_logins():
            self.stdout.write(f"  {username:<24} {role:<48} {base}{where}")
