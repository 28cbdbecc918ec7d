"""Turning a letter's frozen merge data into a PDF with WeasyPrint. No database access here.

Fonts come from the machine (fontconfig: DejaVu Sans, from Debian's fonts-dejavu-core) and the style
sheet is in this module, so nothing is ever fetched from the network: the URL fetcher refuses every
address except the school's logo file under MEDIA_ROOT.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher

from .templating import body_render
from .templating import reply_slip as reply_slip_html

STYLE = """
@page { size: A4; margin: 14mm 16mm 16mm 18mm;
        @bottom-center { content: "Page " counter(page) " of " counter(pages); font-size: 8pt; color: #555; } }
html { font-family: "DejaVu Sans", sans-serif; font-size: 10pt; line-height: 1.35; color: #111; }
.head { display: flex; justify-content: space-between; margin-bottom: 4mm; }
.head .school { text-align: right; font-size: 9pt; }
.head .school strong { font-size: 12pt; }
.head img { max-height: 22mm; max-width: 50mm; }
.to { margin: 4mm 0 5mm 0; min-height: 24mm; }
.date { margin-bottom: 4mm; }
h1 { font-size: 12pt; margin: 0 0 4mm 0; }
h2 { font-size: 11pt; margin: 4mm 0 2mm 0; }
p { margin: 0 0 2.5mm 0; }
table { border-collapse: collapse; margin: 2mm 0 4mm 0; font-size: 9pt; }
th, td { border: 0.5pt solid #888; padding: 0.6mm 2mm; text-align: left; }
th { background: #eee; }
.sign { margin-top: 5mm; }
.slip { break-inside: avoid; margin-top: 8mm; border-top: 1pt dashed #333; padding-top: 3mm; }
.slip .cut { font-size: 8pt; color: #555; }
"""

_FONTS = FontConfiguration()
_CSS = CSS(string=STYLE, font_config=_FONTS)


class LocalOnlyFetcher(URLFetcher):
    """Fetches the school's logo under MEDIA_ROOT and nothing else: never the network."""

    def __init__(self) -> None:
        super().__init__(allowed_protocols=["file"])

    def fetch(self, url: str, headers: Any = None) -> Any:
        media = Path(settings.MEDIA_ROOT).resolve()
        if not url.startswith("file://") or not Path(url[7:]).resolve().is_relative_to(media):
            raise ValueError(f"Letters do not fetch {url}")
        return super().fetch(url, headers)


@dataclass(frozen=True)
class RenderedPdf:
    content: bytes
    sha256: str
    pages: int


def letter_html(*, subject: str, body: str, data: Mapping[str, Any], reply_slip: bool, page: bool = True) -> str:
    """The letter as HTML: a whole page for WeasyPrint, or (page=False) the body for the editor's preview."""
    rendered = body_render(subject=subject, body=body, data=data)
    logo = data.get("school", {}).get("logo", "")
    logo_url = (Path(settings.MEDIA_ROOT) / logo).resolve().as_uri() if logo and page else ""
    return render_to_string("letters/letter_pdf.html" if page else "letters/_letter_body.html", {
        "subject": rendered.subject, "body": rendered.html, "data": data, "logo_url": logo_url,
        "slip": reply_slip_html(data) if reply_slip else ""})


def pdf_render(*, subject: str, body: str, data: Mapping[str, Any], reply_slip: bool = False) -> RenderedPdf:
    html = letter_html(subject=subject, body=body, data=data, reply_slip=reply_slip)
    document = HTML(string=html, url_fetcher=LocalOnlyFetcher()).render(stylesheets=[_CSS], font_config=_FONTS)
    content = document.write_pdf()
    assert content is not None  # noqa: S101 - write_pdf without a target returns the bytes
    return RenderedPdf(content=content, sha256=hashlib.sha256(content).hexdigest(), pages=len(document.pages))


def pdfs_merge(paths: Sequence[str | Path]) -> bytes:
    """One print file from several PDFs, in the order given (pypdf)."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    for path in paths:
        writer.append(str(path))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
