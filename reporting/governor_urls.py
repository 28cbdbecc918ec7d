"""Governors' pages of a school: /s/<school>/governors/…"""

from django.urls import path

from . import dashboard_views as views

app_name = "governors"
urlpatterns = [
    path("", views.governor_dashboard, name="dashboard"),
    path("export.csv", views.governor_dashboard_csv, name="csv"),
    path("reports/", views.governor_reports, name="reports"),
    path("reports/<int:pk>.pdf", views.governor_report_pdf, name="report_pdf"),
]
