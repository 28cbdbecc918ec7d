from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("invitations/accept/", views.invitation, name="invitation"),
    path("invitations/<str:token>/", views.invitation_open, name="invitation_open"),
    path("mfa/", views.mfa_verify, name="mfa_verify"),
    path("mfa/setup/", views.mfa_setup, name="mfa_setup"),
]
