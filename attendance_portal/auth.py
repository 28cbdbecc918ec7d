"""Sign-in. Password guessing is braked for every sign-in form by `accounts.brake`; this page only
says how long to wait rather than showing a plain "didn't match"."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse

from accounts.brake import wait_seconds


class LoginView(auth_views.LoginView):
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        wait = wait_seconds(request, request.POST.get("username", ""))
        if wait:
            minutes = max(1, round(wait / 60))
            return self.render_to_response(
                {**self.get_context_data(form=self.get_form()), "locked": True,
                 "wait": f"{minutes} minute{'s' if minutes != 1 else ''}"}, status=429)
        return super().post(request, *args, **kwargs)
