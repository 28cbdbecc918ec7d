"""Invitation links, and two-step sign-in (set-up, verification, recovery codes and reset)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from . import services
from .forms import NewAccountForm

SESSION_TOKEN = "accounts_invitation_token"  # noqa: S105 - a session key, not a secret


@require_GET
def invitation_open(request: HttpRequest, token: str) -> HttpResponse:
    """Move the token from the address into the session, so it never sits in history or a Referer."""
    request.session[SESSION_TOKEN] = token
    return redirect("accounts:invitation")


@require_http_methods(["GET", "POST"])
def invitation(request: HttpRequest) -> HttpResponse:
    token = request.session.get(SESSION_TOKEN, "")
    found = services.invitation_find(token=token)
    if found is None:
        request.session.pop(SESSION_TOKEN, None)
        return render(request, "accounts/invitation_expired.html", status=410)
    form, problem = NewAccountForm(), ""
    if request.method == "POST":
        try:
            if request.user.is_authenticated:
                services.invitation_redeem(token=token, user=request.user)  # type: ignore[arg-type]
                request.session.pop(SESSION_TOKEN, None)
                messages.success(request, "Invitation accepted.")
                return redirect("parent:home" if found.kind == found.Kind.PARENT else "home")
            form = NewAccountForm(request.POST)
            if form.is_valid():
                services.invitation_account_create(token=token, password=form.cleaned_data["password1"])
                request.session.pop(SESSION_TOKEN, None)
                messages.success(request, "Your account is ready. Sign in with your email address and new password.")
                target = "parent:home" if found.kind == found.Kind.PARENT else "home"
                return redirect(f"{reverse('login')}?next={reverse(target)}")
        except services.AccountError as exc:
            problem = " ".join(exc.messages)
    return render(request, "accounts/invitation.html", {
        "invitation": found, "form": form, "problem": problem,
        "login_url": f"{reverse('login')}?next={reverse('accounts:invitation')}",
        "refused": services.is_staff_account(request.user) and found.kind == found.Kind.PARENT
        if request.user.is_authenticated else False,
    })
