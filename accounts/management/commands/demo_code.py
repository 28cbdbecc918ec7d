"""Print the code the published demo authenticator key gives now (demo accounts only)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from accounts.demo import demo_code, demo_key_base32


class Command(BaseCommand):
    help = "The current two-step sign-in code for the demo staff accounts."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"{demo_code()}  (demo key {demo_key_base32()}; codes change every 30 seconds)")
