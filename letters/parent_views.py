"""A parent's own letters. The guardian link is the filter: another family's letter is a 404."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest
from django.views.decorators.http import require_GET

from . import selectors
from .views import _pdf


@login_required
@require_GET
def letter_pdf(request: HttpRequest, letter_id: int) -> FileResponse:
    letter = selectors.parent_letter_get(user=request.user, letter_id=letter_id)  # type: ignore[arg-type]
    return _pdf(letter.pdf, f"letter-{letter.pk}.pdf")
