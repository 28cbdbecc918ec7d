from django.urls import path

from . import api

app_name = "la_api"
urlpatterns = [
    path("penalty-notices/", api.NoticeIssue.as_view(), name="notice-issue"),
    path("penalty-notices/<int:pk>/payments/", api.NoticePayment.as_view(), name="notice-payment"),
    path("penalty-notices/<int:pk>/withdrawals/", api.NoticeWithdrawal.as_view(), name="notice-withdrawal"),
    path("notices-to-improve/", api.NoticeToImproveIssue.as_view(), name="notice-to-improve-issue"),
]
