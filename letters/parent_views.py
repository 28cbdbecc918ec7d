"""A parent's own letters. The guardian link is the filter: another family's letter is a 404."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse
from django.views.decorators.http import require_GET

from attendance_portal.http import SignedInRequest

from . import selectors
from .views import _pdf


@login_required
@require_GET
def letter_pdf(request: SignedInRequest, letter_id: int) -> FileResponse:
    letter = selectors.parent_letter_get(user=request.user, letter_id=letter_id)
    return _pdf(letter.pdf, f"letter-{letter.pk}.pdf")
