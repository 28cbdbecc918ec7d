from tests.routes import Route

ROUTES = [
    Route("accounts:invitation_open", kind="public", extra={"token": "x"},
          reason="token link; moves the token into the session, no tenant data"),
    Route("accounts:invitation", kind="public",
          reason="shows only the invitation whose token the visitor holds (test_invitations.py)"),
]
