from django.urls import path

from . import views

app_name = "penalties"
urlpatterns = [
    path("cases/<int:case_id>/", views.case_penalty, name="case"),
    path("cases/<int:case_id>/consider/", views.consider, name="consider"),
    path("cases/<int:case_id>/refer/", views.refer, name="refer"),
    path("considerations/<int:consideration_id>/notice-to-improve/", views.notice_to_improve,
         name="notice_to_improve"),
    path("referrals/<int:referral_id>/authorise/", views.authorise, name="authorise"),
    path("referrals/<int:referral_id>/submit/", views.submit, name="submit"),
    path("delegates/", views.delegate, name="delegate"),
]
