"""Platform admin view of the penalty-notice ledger: read-only. Notices are issued, paid, withdrawn and
prosecuted only through `penalties.services`, which hold the rules an edit here would bypass."""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from attendance_portal.admin import ReadOnlyAdmin, platform_admin

from .models import PenaltyNotice


@admin.register(PenaltyNotice, site=platform_admin)
class PenaltyNoticeAdmin(ReadOnlyAdmin):
    list_display = ["number", "local_authority", "kind", "issued_on", "child_upn", "parent_name", "ordinal",
                    "full_pence", "full_due_on", "status"]
    list_filter = ["local_authority", "kind", "status"]
    search_fields = ["number", "child_upn", "parent_name"]
    date_hierarchy = "issued_on"
    list_select_related = ["framework"]

    def get_readonly_fields(self, request: Any, obj: Any = None) -> list[str]:
        return [f.name for f in self.model._meta.fields]
