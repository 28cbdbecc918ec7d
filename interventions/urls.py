from django.urls import path

from . import views

app_name = "interventions"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("pupils/persistent/", views.pupil_list, {"which": "persistent"}, name="persistent"),
    path("pupils/severe/", views.pupil_list, {"which": "severe"}, name="severe"),
    path("pupils/at-risk/", views.pupil_list, {"which": "at-risk"}, name="at_risk"),
    path("open/", views.case_open, name="case_open"),
    path("bulk/", views.bulk_propose, name="bulk_propose"),
    path("bulk/approve/", views.bulk_approve, name="bulk_approve"),
    path("ladder/", views.ladder, name="ladder"),
    path("cases/<int:case_id>/", views.case_detail, name="case"),
    path("cases/<int:case_id>/note/", views.case_note, name="case_note"),
    path("cases/<int:case_id>/stage/", views.case_stage, name="case_stage"),
    path("cases/<int:case_id>/close/", views.case_close, name="case_close"),
    path("cases/<int:case_id>/owner/", views.case_owner, name="case_owner"),
    path("cases/<int:case_id>/letter/", views.letter_propose, name="letter_propose"),
    path("cases/<int:case_id>/meetings/", views.meeting_create, name="meeting_create"),
    path("cases/<int:case_id>/contracts/", views.contract_create, name="contract_create"),
    path("cases/<int:case_id>/support/", views.support_add, name="support_add"),
    path("cases/<int:case_id>/context/", views.case_context, name="case_context"),
    path("actions/<int:action_id>/", views.action_review, name="action"),
    path("meetings/<int:meeting_id>/record/", views.meeting_record, name="meeting_record"),
    path("meetings/<int:meeting_id>/rearrange/", views.meeting_rearrange, name="meeting_rearrange"),
    path("contracts/<int:contract_id>/review/", views.contract_review, name="contract_review"),
    path("clocks/<int:clock_id>/done/", views.clock_done, name="clock_done"),
]
