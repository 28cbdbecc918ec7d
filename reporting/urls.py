"""School reporting pages: /s/<school>/reporting/…"""

from django.urls import path

from . import census_views

app_name = "reporting"
urlpatterns = [
    path("census/", census_views.census_page, name="census"),
    path("census/attendance.csv", census_views.census_csv, name="census_csv"),
]
