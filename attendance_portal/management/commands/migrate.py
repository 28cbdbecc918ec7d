"""`migrate` as the owner role (DATABASE_OWNER_URL), then the application role's privileges granted and the
row-level security policies put on every school-owned table (`attendance_portal.rls`).

Every way migrations run goes through here, the test suite's database set-up included, so the
grants are made in one place and are never behind the schema.
"""

from __future__ import annotations

from typing import Any

from django.core.management.commands.migrate import Command as DjangoMigrate
from django.db import connections

from attendance_portal.dbroles import app_role_grant, connected_as_owner
from attendance_portal.rls import rls_apply


class Command(DjangoMigrate):
    help = DjangoMigrate.help + " Runs as DATABASE_OWNER_URL's role when set, then grants DATABASE_URL's role."

    def handle(self, *args: Any, **options: Any) -> None:
        connection = connections[options["database"]]
        with connected_as_owner(connection):
            super().handle(*args, **options)
            if not options.get("plan"):
                app_role_grant(connection)
                rls_apply(connection)
