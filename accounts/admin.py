"""The account trail and invitations, read-only, for platform staff. Token material is never shown."""

from __future__ import annotations

from django.contrib import admin

from attendance_portal.admin import ReadOnlyAdmin, platform_admin

from .models import AccountEvent, Invitation


@admin.register(AccountEvent, site=platform_admin)
class AccountEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "kind", "actor", "subject", "school", "detail"]
    list_filter = ["kind"]


@admin.register(Invitation, site=platform_admin)
class InvitationAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "kind", "email", "school", "expires_at", "used_at", "cancelled_at"]
    list_filter = ["kind"]
    exclude = ["nonce", "token_hash"]
