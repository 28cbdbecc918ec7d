from django.urls import path

from . import api

urlpatterns = [
    path("cases/", api.CaseList.as_view(), name="case-list"),
    path("cases/<int:pk>/", api.CaseDetail.as_view(), name="case-detail"),
    path("cases/<int:case_id>/events/", api.CaseEventList.as_view(), name="case-event-list"),
    path("meetings/", api.MeetingList.as_view(), name="meeting-list"),
    path("contracts/", api.ContractList.as_view(), name="contract-list"),
]
