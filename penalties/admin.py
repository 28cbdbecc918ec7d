"""Platform admin view of the penalty-notice ledger: read-only. Notices are issued, paid, withdrawn and
prosecuted only through `penalties.services`, which hold the rules an edit here would bypass."""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from attendance_portal.admin import ReadOnlyAdmin, platform_admin

from .models import LAOfficer, LocalAuthority, PenaltyNotice


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


class LAOfficerInline(admin.TabularInline):
    model = LAOfficer
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(LocalAuthority, site=platform_admin)
class LocalAuthorityAdmin(admin.ModelAdmin):
    """Platform staff set up a local authority (its code of conduct's settings) and its officers' logins."""

    list_display = ["name", "code", "nti_weeks", "nti_weeks_fixed", "nti_issued_by", "referral_deadline_school_days",
                    "certificate_period"]
    search_fields = ["name", "code"]
    inlines = [LAOfficerInline]
