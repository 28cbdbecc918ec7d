from django.urls import path

from . import views

app_name = "parent_casework"
urlpatterns = [
    path("children/<int:pupil_id>/letters/", views.parent_letters, name="letters"),
]
