from django.urls import URLPattern

app_name = "absence"
urlpatterns: list[URLPattern] = []
