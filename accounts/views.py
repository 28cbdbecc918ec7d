"""Invitation links, and two-step sign-in (set-up, verification, recovery codes and reset)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from attendance_portal.http import SchoolRequest
from attendance_portal.permissions import requires

from . import mfa, selectors, services
from .forms import CodeForm, NewAccountForm
from .policy import is_staff_account, mfa_required

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
                services.invitation_redeem(token=token, user=request.user)
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
        "refused": is_staff_account(request.user) and found.kind == found.Kind.PARENT
        if request.user.is_authenticated else False,
    })


# ---------------------------------------------------------------- two-step sign-in


def _signed_in(request: HttpRequest) -> HttpResponse | None:
    if not request.user.is_authenticated:
        return redirect(f"{reverse('login')}?next={request.get_full_path()}")
    return None


@require_http_methods(["GET", "POST"])
def mfa_verify(request: HttpRequest) -> HttpResponse:
    if (response := _signed_in(request)) is not None:
        return response
    nxt = mfa.safe_next(request)
    if request.user.is_verified():  # type: ignore[union-attr]  # OTPMiddleware adds is_verified to request.user
        return redirect(nxt)
    if mfa.confirmed_device(request.user) is None:
        return redirect(f"{reverse('accounts:mfa_setup')}?{urlencode({'next': nxt})}")
    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        if mfa.verify(request=request, code=form.cleaned_data["code"]):
            return redirect(nxt)
        form.add_error("code", "That code is not right. Codes change every 30 seconds; try the one showing now.")
        status = 400
    return render(request, "accounts/mfa_verify.html", {"form": form, "next": nxt}, status=status)


@require_http_methods(["GET", "POST"])
def mfa_setup(request: HttpRequest) -> HttpResponse:
    if (response := _signed_in(request)) is not None:
        return response
    nxt = mfa.safe_next(request)
    if mfa.confirmed_device(request.user) is not None:
        # Set up already: a new authenticator needs a reset by the headteacher, never a stolen password.
        return redirect(nxt if request.user.is_verified() else  # type: ignore[union-attr]  # OTPMiddleware adds is_verified to request.user
                        f"{reverse('accounts:mfa_verify')}?{urlencode({'next': nxt})}")
    device = mfa.pending_device(request.user)
    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        codes = mfa.enrolment_confirm(request=request, device=device, code=form.cleaned_data["code"])
        if codes is not None:
            return render(request, "accounts/mfa_codes.html", {"codes": codes, "next": nxt})
        form.add_error("code", "That code is not right. Check the app shows this account and try the code "
                               "showing now.")
        status = 400
    return render(request, "accounts/mfa_setup.html", {
        "form": form, "next": nxt, "qr": mark_safe(mfa.qr_svg(device)),  # noqa: S308 - SVG made by qrcode
        "secret": mfa.secret_text(device), "required": mfa_required(request.user),
    }, status=status)


@requires("reset_mfa")
@require_GET
def mfa_staff(request: SchoolRequest, school_slug: str) -> HttpResponse:
    """The headteacher's list of the school's staff and whether each has set up two-step sign-in."""
    school = request.school
    return render(request, "accounts/mfa_staff.html", {"staff": selectors.school_staff_mfa(school=school)})


@requires("reset_mfa")
@require_POST
def mfa_reset(request: SchoolRequest, school_slug: str, user_id: int) -> HttpResponse:
    school = request.school
    target = selectors.school_member(school=school, user_id=user_id)
    if target.pk == request.user.pk:
        messages.error(request, "You cannot reset your own two-step sign-in; ask another headteacher or the "
                                "platform support team.")
    else:
        mfa.mfa_reset(user=target, by=request.user, school=school)
        messages.success(request, f"Two-step sign-in reset for {target.display_name()}. They set it up again the "
                                  "next time they sign in.")
    return redirect("accounts_school:mfa_staff", school.slug)
