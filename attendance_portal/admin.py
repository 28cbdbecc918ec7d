"""Django admin for platform staff only; it sees every school, so it opens no school scope."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django_scopes import scopes_disabled

from .models import Membership, School, Trust, User


class PlatformAdminSite(admin.AdminSite):
    site_header = "Attendance portal — platform administration"
    site_title = "Platform admin"

    def has_permission(self, request: Any) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    def admin_view(self, view: Any, cacheable: bool = False) -> Any:
        inner = super().admin_view(view, cacheable)

        def wrapped(request: Any, *args: Any, **kwargs: Any) -> Any:
            # Platform operators work across tenants; say so explicitly rather than open a fake scope.
            with scopes_disabled():
                response = inner(request, *args, **kwargs)
                if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                    response.render()
                return response

        return wrapped


platform_admin = PlatformAdminSite(name="platform_admin")
platform_admin.register(User, UserAdmin)


@admin.register(Trust, site=platform_admin)
class ReadOnlyAdmin(admin.ModelAdmin):
    """Records the platform staff may read and never change here (trails, ledgers)."""

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


class TrustAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(School, site=platform_admin)
class SchoolAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "trust", "phase", "urn"]
    list_filter = ["trust", "phase"]


@admin.register(Membership, site=platform_admin)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "school", "trust"]
    list_filter = ["role"]
    autocomplete_fields = []
