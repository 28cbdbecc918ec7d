from django.urls import path

from . import views

app_name = "accesslog"

urlpatterns = [
    path("", views.access_log_page, name="index"),
]
