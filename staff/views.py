"""Staff management pages. Thin: they check who may manage staff, read the form and call `staff.services`.

School pages live under /s/<school>/staff/ (the headteacher, or whoever they delegate); trust pages under
/t/<trust>/staff/ (the trust's attendance officers, for trust roles). Someone without a role here is a 404,
like another school's object. The acceptance page is public: the token is the key.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from accounts.fast_reads import BACKEND
from attendance_portal.http import SchoolRequest, SignedInRequest, TrustRequest
from attendance_portal.models import School, Trust, User
from attendance_portal.permissions import can, requires
from attendance_portal.roles import Role
from registers import codes

from . import selectors, services
from .forms import AcceptForm, InviteForm, MemberForm, RoleCodesForm

# The headteacher, or someone they have delegated to: one declaration for every school staff page.
manages_staff = requires("manage_staff", also_allowed=selectors.is_staff_delegate,
                         message="Only the headteacher, or someone they have asked, manages staff.")


def _trust_manager(request: TrustRequest) -> Trust:
    trust: Trust = request.trust
    if not selectors.may_manage_trust_staff(user=request.user, trust=trust):
        raise PermissionDenied("Only the trust's attendance officers manage trust roles.")
    return trust


def _errors(form: Any, error: services.StaffError) -> None:
    for message in error.messages:
        form.add_error(None, message)


def _place(school: School | None, trust: Trust | None) -> dict[str, Any]:
    return {"school": school, "trust": trust} if school is not None else {"trust": trust}


def _index(request: SignedInRequest, *, school: School | None, trust: Trust | None, form: InviteForm | None = None,
           status: int = 200) -> HttpResponse:
    members = selectors.staff_list(school=school) if school else selectors.trust_staff_list(trust=trust)  # type: ignore[arg-type]  # no school: a trust page, so trust is set
    return render(request, "staff/index.html", {
        "place": school or trust, "is_trust": school is None, "members": members,
        "invitations": selectors.invitations_open(school=school, trust=trust),
        "changes": selectors.staff_changes(school=school, trust=trust),
        "form": form or InviteForm(school=school),
    }, status=status)


def _invite(request: SignedInRequest, *, school: School | None, trust: Trust | None) -> HttpResponse:
    form = InviteForm(request.POST, school=school)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.staff_invite(by=request.user, school=school, trust=trust, email=data["email"],
                                  first_name=data["first_name"], last_name=data["last_name"],
                                  position=data["position"], roles=data["roles"], group_ids=form.group_ids(),
                                  base_url=request.build_absolute_uri("/"))
        except services.StaffError as exc:
            _errors(form, exc)
        else:
            messages.success(request, f"Invitation sent to {data['email']}. The link works once and expires in "
                                      f"{services.invitation_valid_for().days} days.")
            return redirect(request.path.rsplit("invite/", 1)[0])
    return _index(request, school=school, trust=trust, form=form, status=400)


def _member(request: SignedInRequest, *, user_id: int, school: School | None, trust: Trust | None) -> HttpResponse:
    found = (selectors.staff_member(school=school, user_id=user_id) if school is not None
             else next((m for m in selectors.trust_staff_list(trust=trust) if m.user.pk == user_id), None))  # type: ignore[arg-type]  # no school: a trust page, so trust is set
    if found is None:
        raise Http404("No such member of staff")
    may_delegate = school is not None and can(request.user, "manage_staff", school)
    initial = {"roles": found.roles, "groups": [g.pk for g in found.groups], "delegate": found.delegate}
    form = MemberForm(request.POST or None, school=school, may_delegate=may_delegate, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.staff_roles_set(by=request.user, user=found.user, roles=form.cleaned_data["roles"],
                                         school=school, trust=trust)
                if school is not None:
                    services.staff_groups_set(by=request.user, school=school, user=found.user,
                                              group_ids=form.group_ids())
                    if may_delegate:
                        services.staff_delegate_set(by=request.user, school=school, user=found.user,
                                                    delegate=form.cleaned_data["delegate"])
            except services.StaffError as exc:
                _errors(form, exc)
            else:
                messages.success(request, f"{found.user.display_name()}'s roles and groups are saved.")
                return redirect(request.path)
        status = 400
    return render(request, "staff/member.html", {
        "place": school or trust, "is_trust": school is None, "member": found, "form": form,
        "is_self": found.user.pk == request.user.pk,
    }, status=status)


def _deactivate(request: SignedInRequest, *, user_id: int, school: School | None, trust: Trust | None) -> HttpResponse:
    members = selectors.staff_list(school=school) if school is not None else selectors.trust_staff_list(trust=trust)  # type: ignore[arg-type]  # no school: a trust page, so trust is set
    found = next((m for m in members if m.user.pk == user_id), None)
    if found is None:
        raise Http404("No such member of staff")
    try:
        done = services.staff_deactivate(by=request.user, user=found.user, school=school, trust=trust)
    except services.StaffError as exc:
        messages.error(request, "; ".join(exc.messages))
        return redirect(request.path.rsplit("deactivate/", 1)[0])
    messages.success(request, f"{found.user.display_name()} no longer has a role here"
                              f"{' and their account is closed' if done.account_closed else ''}; they were signed out "
                              "everywhere.")
    return redirect(request.path.rsplit(f"{user_id}/deactivate/", 1)[0])


def _revoke(request: SignedInRequest, *, invitation_id: int, school: School | None,
            trust: Trust | None) -> HttpResponse:
    invitation = selectors.invitation_get(invitation_id=invitation_id, school=school, trust=trust)
    try:
        services.invitation_revoke(invitation=invitation, by=request.user)
        messages.success(request, f"The invitation to {invitation.email} is withdrawn.")
    except services.StaffError as exc:
        messages.error(request, "; ".join(exc.messages))
    return redirect(request.path.rsplit(f"invitations/{invitation_id}/revoke/", 1)[0])


# ---------------------------------------------------------------- school


@manages_staff
@require_http_methods(["GET"])
def school_index(request: SchoolRequest, school_slug: str) -> HttpResponse:
    return _index(request, school=request.school, trust=None)


@manages_staff
@require_POST
def school_invite(request: SchoolRequest, school_slug: str) -> HttpResponse:
    return _invite(request, school=request.school, trust=None)


@manages_staff
@require_http_methods(["GET", "POST"])
def school_member(request: SchoolRequest, school_slug: str, user_id: int) -> HttpResponse:
    return _member(request, user_id=user_id, school=request.school, trust=None)


@manages_staff
@require_POST
def school_deactivate(request: SchoolRequest, school_slug: str, user_id: int) -> HttpResponse:
    return _deactivate(request, user_id=user_id, school=request.school, trust=None)


@manages_staff
@require_POST
def school_revoke(request: SchoolRequest, school_slug: str, invitation_id: int) -> HttpResponse:
    return _revoke(request, invitation_id=invitation_id, school=request.school, trust=None)


@manages_staff
@require_http_methods(["GET", "POST"])
def school_codes(request: SchoolRequest, school_slug: str) -> HttpResponse:
    """Which codes each role may enter in a register (the school's configuration)."""
    school = request.school
    choices = [(c.code, f"{c.code} {c.meaning}") for c in codes.codes_valid_on(services.timezone.localdate())]
    table = selectors.role_codes(school=school)
    form = RoleCodesForm(request.POST or None, code_choices=choices)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.role_codes_set(by=request.user, school=school, role=form.cleaned_data["role"],
                                        chosen=form.cleaned_data["codes"])
            except services.StaffError as exc:
                _errors(form, exc)
            else:
                messages.success(request, f"Codes for {Role(form.cleaned_data['role']).label} saved.")
                return redirect(request.path)
        status = 400
    rows = [(role, sorted(table[role]), RoleCodesForm(code_choices=choices, initial={
        "role": role.value, "codes": sorted(table[role])}, prefix=None))
        for role in selectors.SCHOOL_ROLES if role != Role.GOVERNOR]
    return render(request, "staff/codes.html", {"rows": rows, "form": form, "choices": choices}, status=status)


# ---------------------------------------------------------------- trust


@require_http_methods(["GET"])
def trust_index(request: TrustRequest, trust_slug: str) -> HttpResponse:
    return _index(request, school=None, trust=_trust_manager(request))


@require_POST
def trust_invite(request: TrustRequest, trust_slug: str) -> HttpResponse:
    return _invite(request, school=None, trust=_trust_manager(request))


@require_http_methods(["GET", "POST"])
def trust_member(request: TrustRequest, trust_slug: str, user_id: int) -> HttpResponse:
    return _member(request, user_id=user_id, school=None, trust=_trust_manager(request))


@require_POST
def trust_deactivate(request: TrustRequest, trust_slug: str, user_id: int) -> HttpResponse:
    return _deactivate(request, user_id=user_id, school=None, trust=_trust_manager(request))


@require_POST
def trust_revoke(request: TrustRequest, trust_slug: str, invitation_id: int) -> HttpResponse:
    return _revoke(request, invitation_id=invitation_id, school=None, trust=_trust_manager(request))


# ---------------------------------------------------------------- accepting an invitation (public)


@require_http_methods(["GET", "POST"])
def accept(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invitation = services.invitation_find(token=token)
    except services.StaffError as exc:
        return render(request, "staff/accept.html", {"problem": exc.messages[0]}, status=404)
    form = AcceptForm(request.POST or None)
    status = 200
    if request.method == "POST" and request.user.is_authenticated:
        try:
            services.invitation_accept_signed_in(token=token, user=request.user)
        except services.StaffError as exc:
            messages.error(request, "; ".join(exc.messages))
        else:
            messages.success(request, "Invitation accepted: the new roles are on your account.")
            return redirect(reverse("home"))
    elif request.method == "POST":
        if form.is_valid():
            try:
                user: User = services.invitation_accept(token=token, password1=form.cleaned_data["password1"],
                                                        password2=form.cleaned_data["password2"])
            except services.StaffError as exc:
                _errors(form, exc)
            else:
                login(request, user, backend=BACKEND)
                messages.success(request, "Welcome. Your password is set and you are signed in.")
                return redirect(reverse("home"))
        status = 400
    return render(request, "staff/accept.html", {"invitation": invitation, "form": form,
                                                 "has_account": services.email_has_account(invitation.email),
                                                 "login_url": f"{reverse('login')}?next={request.path}",
                                                 "place": invitation.school or invitation.trust,
                                                 "roles": [Role(r).label for r in invitation.roles]}, status=status)
