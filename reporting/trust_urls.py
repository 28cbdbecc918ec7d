"""A trust's dashboard: /t/<trust>/dashboard/…"""

from django.urls import path

from . import dashboard_views as views

app_name = "trust_dashboard"
urlpatterns = [
    path("", views.trust_dashboard_view, name="index"),
    path("export.csv", views.trust_dashboard_csv, name="csv"),
    path("schools/<slug:school>/", views.trust_school, name="school"),
    path("schools/<slug:school>/<str:year_group>/", views.trust_year_group, name="year_group"),
]
