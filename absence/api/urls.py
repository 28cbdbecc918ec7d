from django.urls import path

from . import views

urlpatterns = [
    path("absence-reports/", views.AbsenceReportList.as_view(), name="absence-report-list"),
    path("absence-reports/<int:pk>/", views.AbsenceReportDetail.as_view(), name="absence-report-detail"),
    path("leave-requests/", views.LeaveRequestList.as_view(), name="leave-request-list"),
    path("leave-requests/<int:pk>/", views.LeaveRequestDetail.as_view(), name="leave-request-detail"),
    path("contact-attempts/", views.ContactAttemptList.as_view(), name="contact-attempt-list"),
    path("aged-n-codes/", views.AgedNCodeList.as_view(), name="aged-n-code-list"),
]
