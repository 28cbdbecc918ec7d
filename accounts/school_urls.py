from django.urls import path

from . import views

app_name = "accounts_school"
urlpatterns = [
    path("two-step/", views.mfa_staff, name="mfa_staff"),
    path("two-step/<int:user_id>/reset/", views.mfa_reset, name="mfa_reset"),
]
