"""Platform admin views of the absence records (read-mostly; the office works in the app's own pages)."""

from __future__ import annotations

from django.contrib import admin

from attendance_portal.admin import platform_admin

from .models import AbsenceReport, ContactAttempt, LeaveRequest, MedicalEvidenceRequest, SentMessage


@admin.register(AbsenceReport, site=platform_admin)
class AbsenceReportAdmin(admin.ModelAdmin):
    list_display = ["reference", "school", "pupil", "first_date", "last_date", "category", "status", "late"]
    list_filter = ["status", "category", "late"]
    raw_id_fields = ["pupil", "reported_by", "guardian", "decided_by"]


@admin.register(LeaveRequest, site=platform_admin)
class LeaveRequestAdmin(admin.ModelAdmin):
    list_display = ["reference", "school", "pupil", "first_date", "last_date", "circumstance", "status"]
    list_filter = ["status", "circumstance"]
    raw_id_fields = ["pupil", "requested_by", "guardian", "decided_by", "taken_recorded_by"]


@admin.register(ContactAttempt, site=platform_admin)
class ContactAttemptAdmin(admin.ModelAdmin):
    list_display = ["school", "pupil", "absence_date", "method", "outcome", "at", "by"]
    list_filter = ["method", "outcome"]
    raw_id_fields = ["pupil", "contact", "by"]


@admin.register(MedicalEvidenceRequest, site=platform_admin)
class MedicalEvidenceRequestAdmin(admin.ModelAdmin):
    list_display = ["school", "pupil", "illness_from", "days", "status"]
    raw_id_fields = ["pupil", "recorded_by"]


@admin.register(SentMessage, site=platform_admin)
class SentMessageAdmin(admin.ModelAdmin):
    list_display = ["school", "kind", "channel", "to", "status", "created_at", "sent_at"]
    list_filter = ["kind", "channel", "status"]
    raw_id_fields = ["pupil", "guardian"]
