from django.urls import path

from . import parent_views

app_name = "parent_letters"
urlpatterns = [
    path("<int:letter_id>/pdf/", parent_views.letter_pdf, name="pdf"),
]
