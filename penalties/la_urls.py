from django.urls import path

from . import la_views as views

app_name = "la"
urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("referrals/<int:referral_id>/", views.referral, name="referral"),
    path("referrals/<int:referral_id>/accept/", views.accept, name="accept"),
    path("referrals/<int:referral_id>/return/", views.send_back, name="return"),
    path("referrals/<int:referral_id>/decline/", views.decline, name="decline"),
    path("referrals/<int:referral_id>/notices/", views.issue, name="issue"),
    path("referrals/<int:referral_id>/pack/<int:pack_id>.<slug:kind>", views.pack_file, name="pack_file"),
    path("notices-to-improve/<int:consideration_id>/", views.consideration, name="consideration"),
    path("notices-to-improve/<int:consideration_id>/give/", views.notice_to_improve, name="notice_to_improve"),
    path("notices/<int:notice_id>/pay/", views.pay, name="pay"),
    path("notices/<int:notice_id>/withdraw/", views.withdraw, name="withdraw"),
    path("notices/<int:notice_id>/prosecute/", views.prosecute, name="prosecute"),
]
