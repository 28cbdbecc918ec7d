"""School set-up (calendar, closures, register times, groups' teachers) and the onboarding import upload."""

from django.urls import URLPattern, path

from . import setup_views as v

urlpatterns: list[URLPattern] = [
    path("setup/", v.setup_home, name="setup"),
    path("setup/terms/", v.terms, name="terms"),
    path("setup/years/new/", v.year_create, name="year_create"),
    path("setup/years/<int:year_id>/", v.year_edit, name="year_edit"),
    path("setup/years/<int:year_id>/terms/new/", v.term_create, name="term_create"),
    path("setup/terms/<int:term_id>/", v.term_edit, name="term_edit"),
    path("setup/closures/", v.closures, name="closures"),
    path("setup/closures/<int:closure_id>/delete/", v.closure_delete_view, name="closure_delete"),
    path("setup/register-times/", v.session_times, name="session_times"),
    path("setup/groups/", v.groups, name="groups"),
    path("setup/groups/<int:group_id>/", v.group_teachers_edit, name="group_teachers"),
    path("import/", v.import_upload, name="import"),
    path("import/<int:batch_id>/", v.import_status, name="import_status"),
]
