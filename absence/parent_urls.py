from django.urls import path

from . import parent_views

app_name = "parent"
urlpatterns = [
    path("", parent_views.parent_home, name="home"),
]
