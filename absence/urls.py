from django.urls import path

from . import views

app_name = "absence"
urlpatterns = [
    path("", views.today, name="today"),
    path("notify/", views.notify_unexplained, name="notify_unexplained"),
    path("pupils/<int:pupil_id>/", views.pupil, name="pupil"),
    path("pupils/<int:pupil_id>/contact/", views.contact_add, name="contact_add"),
    path("pupils/<int:pupil_id>/resolve/", views.resolve, name="resolve"),
    path("aged/", views.aged, name="aged"),
    path("reports/", views.reports, name="reports"),
    path("reports/<int:report_id>/accept/", views.report_accept, name="report_accept"),
    path("reports/<int:report_id>/reject/", views.report_reject, name="report_reject"),
    path("leave/", views.leave, name="leave"),
    path("leave/<int:request_id>/", views.leave_detail, name="leave_detail"),
    path("leave/<int:request_id>/evidence/", views.leave_evidence, name="leave_evidence"),
    path("leave/<int:request_id>/grant/", views.leave_grant, name="leave_grant"),
    path("leave/<int:request_id>/refuse/", views.leave_refuse, name="leave_refuse"),
    path("leave/<int:request_id>/taken/", views.leave_taken, name="leave_taken"),
    path("medical/", views.medical, name="medical"),
    path("medical/<int:evidence_id>/", views.medical_record, name="medical_record"),
    path("parents/", views.parents, name="parents"),
    path("parents/<int:guardian_id>/invite/", views.invite, name="invite"),
]
