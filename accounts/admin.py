"""The account trail and invitations, read-only, for platform staff. Token material is never shown."""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from attendance_portal.admin import platform_admin

from .models import AccountEvent, Invitation


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(AccountEvent, site=platform_admin)
class AccountEventAdmin(ReadOnly):
    list_display = ["at", "kind", "actor", "subject", "school", "detail"]
    list_filter = ["kind"]


@admin.register(Invitation, site=platform_admin)
class InvitationAdmin(ReadOnly):
    list_display = ["created_at", "kind", "email", "school", "expires_at", "used_at", "cancelled_at"]
    list_filter = ["kind"]
    exclude = ["nonce", "token_hash"]
