"""Registers API routes, mounted under /api/v1/s/<school_slug>/ (namespace "api")."""

from django.urls import URLPattern, path

from registers import urls_marking  # noqa: F401 - registers the date and session path converters

from . import views

urlpatterns: list[URLPattern] = [
    path("pupils/", views.PupilList.as_view(), name="pupil-list"),
    path("pupils/<int:pk>/", views.PupilDetail.as_view(), name="pupil-detail"),
    path("enrolments/", views.EnrolmentList.as_view(), name="enrolment-list"),
    path("groups/", views.GroupList.as_view(), name="group-list"),
    path("registers/", views.RegisterList.as_view(), name="register-list"),
    path("registers/<int:group_id>/<date:date>/<session:session>/", views.RegisterDetail.as_view(),
         name="register-detail"),
    path("marks/", views.MarkList.as_view(), name="mark-list"),
    path("amendments/", views.AmendmentList.as_view(), name="amendment-list"),
]
