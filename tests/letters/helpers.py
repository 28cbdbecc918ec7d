"""Reading PDFs back in tests."""

from __future__ import annotations

import io

from django.core.files.storage import default_storage
from pypdf import PdfReader


def pdf_text(name_or_bytes: str | bytes) -> str:
    if isinstance(name_or_bytes, str):
        with default_storage.open(name_or_bytes, "rb") as handle:
            content = handle.read()
    else:
        content = name_or_bytes
    reader = PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages)


def pdf_pages(content: bytes) -> int:
    return len(PdfReader(io.BytesIO(content)).pages)
