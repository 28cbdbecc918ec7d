"""The admission register: pupils, their enrolments and contacts."""

from django.urls import URLPattern, path

from . import admission_views as v

urlpatterns: list[URLPattern] = [
    path("admission/", v.admission, name="admission"),
    path("admission/new/", v.pupil_add, name="pupil_add"),
    path("admission/<int:pupil_id>/", v.pupil, name="pupil"),
    path("admission/<int:pupil_id>/edit/", v.pupil_edit, name="pupil_edit"),
    path("admission/<int:pupil_id>/admit/", v.admit, name="enrolment_admit"),
    path("admission/enrolments/<int:enrolment_id>/leave/", v.leave, name="enrolment_leave"),
    path("admission/<int:pupil_id>/contacts/new/", v.contact_new, name="contact_add"),
    path("admission/contacts/<int:contact_id>/", v.contact_edit, name="contact_edit"),
    path("admission/contacts/<int:contact_id>/remove/", v.contact_delete, name="contact_remove"),
]
