from tests import factories as f
from tests.routes import Route

ROUTES = [
    Route("accounts:invitation_open", kind="public", extra={"token": "x"},
          reason="token link; moves the token into the session, no tenant data"),
    Route("accounts:invitation", kind="public",
          reason="shows only the invitation whose token the visitor holds (test_invitations.py)"),
    Route("accounts:mfa_verify", kind="public", reason="the signed-in person's own two-step sign-in"),
    Route("accounts:mfa_setup", kind="public", reason="the signed-in person's own two-step sign-in"),
    Route("accounts_school:mfa_staff"),
    Route("accounts_school:mfa_reset", method="post",
          make=lambda s: {"user_id": f.MembershipFactory(school=s, role="office_staff").user.pk}),
]
