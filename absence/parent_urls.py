from django.urls import path

from . import parent_views

app_name = "parent"
urlpatterns = [
    path("", parent_views.parent_home, name="home"),
    path("children/<int:pupil_id>/", parent_views.child, name="child"),
    path("report/", parent_views.report_new, name="report"),
    path("reports/<int:report_id>/", parent_views.report_detail, name="report_detail"),
    path("leave/", parent_views.leave_new, name="leave"),
    path("leave/<int:request_id>/", parent_views.leave_detail, name="leave_detail"),
]
