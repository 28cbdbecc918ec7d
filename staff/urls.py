"""Staff management routes: a school's staff, a trust's staff, and accepting an invitation."""

from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("s/<slug:school_slug>/staff/", views.school_index, name="staff_index"),
    path("s/<slug:school_slug>/staff/invite/", views.school_invite, name="staff_invite"),
    path("s/<slug:school_slug>/staff/codes/", views.school_codes, name="staff_codes"),
    path("s/<slug:school_slug>/staff/<int:user_id>/", views.school_member, name="staff_member"),
    path("s/<slug:school_slug>/staff/<int:user_id>/deactivate/", views.school_deactivate, name="staff_deactivate"),
    path("s/<slug:school_slug>/staff/invitations/<int:invitation_id>/revoke/", views.school_revoke,
         name="staff_revoke"),
    path("t/<slug:trust_slug>/staff/", views.trust_index, name="trust_staff_index"),
    path("t/<slug:trust_slug>/staff/invite/", views.trust_invite, name="trust_staff_invite"),
    path("t/<slug:trust_slug>/staff/<int:user_id>/", views.trust_member, name="trust_staff_member"),
    path("t/<slug:trust_slug>/staff/<int:user_id>/deactivate/", views.trust_deactivate, name="trust_staff_deactivate"),
    path("t/<slug:trust_slug>/staff/invitations/<int:invitation_id>/revoke/", views.trust_revoke,
         name="trust_staff_revoke"),
    path("staff/accept/<str:token>/", views.accept, name="staff_accept"),
]
