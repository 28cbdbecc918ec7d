from django.urls import path

from . import views

app_name = "letters"
urlpatterns = [
    path("", views.log, name="log"),
    path("export.csv", views.log_csv, name="log_csv"),
    path("<int:letter_id>/", views.letter_detail, name="letter"),
    path("<int:letter_id>/pdf/", views.letter_pdf, name="letter_pdf"),
    path("<int:letter_id>/regenerate/", views.letter_regenerate, name="regenerate"),
    path("<int:letter_id>/reapprove/", views.letter_reapprove, name="reapprove"),
    path("templates/", views.templates, name="templates"),
    path("templates/edit/", views.template_edit, name="template_edit"),
    path("templates/preview/", views.template_preview, name="template_preview"),
    path("batches/", views.batches, name="batches"),
    path("batches/new/", views.batch_new, name="batch_new"),
    path("batches/review/", views.batch_review, name="batch_review"),
    path("batches/approve/", views.batch_approve, name="batch_approve"),
    path("batches/<int:batch_id>/", views.batch_detail, name="batch"),
    path("batches/<int:batch_id>/progress/", views.batch_progress, name="batch_progress"),
    path("batches/<int:batch_id>/print.pdf", views.batch_print, name="batch_print"),
]
