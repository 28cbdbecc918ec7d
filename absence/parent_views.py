"""The parent portal. A parent is not a school member: every read is limited to their own children
through the guardian link, so a guessed child id is a 404 exactly like one that does not exist."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_scopes import scopes_disabled

from registers.models import Pupil


def children_of(user) -> list[Pupil]:  # noqa: ANN001
    # Parents span schools and trusts; the guardian link is the scope here, stated explicitly.
    with scopes_disabled():
        return list(
            Pupil.objects.filter(contacts__guardian__user=user)
            .select_related("school", "registration_group")
            .distinct()
            .order_by("forename", "surname")
        )


@login_required
def parent_home(request: HttpRequest) -> HttpResponse:
    return render(request, "parent/home.html", {"children": children_of(request.user)})
