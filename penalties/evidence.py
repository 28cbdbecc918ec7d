"""The evidence pack: what goes in it (frozen as data when the referral is submitted) and how its files are
made from that data (one PDF, and a ZIP of the same data as CSV). No writes to the database here."""
from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import zipfile
from typing import Any

from django.core.files.storage import default_storage
from django.template.loader import render_to_string
from django.utils import timezone
from pypdf import PdfReader, PdfWriter
from weasyprint import CSS, HTML

from absence.models import LeaveRequest
from attendance_portal import csvsafe
from interventions.models import AttendanceContract, CaseEvent, EventKind, Meeting, SupportRecord
from letters.models import Letter, LetterSend
from letters.rendering import LocalOnlyFetcher
from registers import codes as code_table
from registers.models import Mark

from .case_selectors import referral_parents
from .models import LocalAuthority, Referral

# The page footer counts the letters' copies merged after the pack's own pages, so "of" is the whole file.
PAGE_FOOTER = """@page { size: A4; margin: 14mm; @bottom-center { content: "Page " counter(page) " of %d";
        font-size: 8pt; } }"""
PACK_STYLE = CSS(string="""
html { font-family: "DejaVu Sans", sans-serif; font-size: 9pt; }
h1 { font-size: 13pt; } h2 { font-size: 11pt; margin-top: 6mm; border-bottom: 0.5pt solid #333; }
table { border-collapse: collapse; width: 100%; } th, td { border: 0.4pt solid #888; padding: 0.5mm 1.5mm;
        text-align: left; vertical-align: top; }
th { background: #eee; } .met { background: #ffe08a; font-weight: bold; } .muted { color: #555; }
""")


def file_stem(*, upn: str, surname: str, forename: str, day: str) -> str:
    """A file name an LA's systems accept: ASCII letters, digits, hyphens and underscores only."""
    def plain(text: str) -> str:
        folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
        return re.sub(r"[^A-Za-z0-9]+", "-", folded).strip("-")

    return "_".join(p for p in (plain(upn), plain(surname), plain(forename), plain(day)) if p)[:80] or "pack"


def _certificate_sessions(referral: Referral) -> list[Mark]:
    la = referral.local_authority
    marks = Mark.objects.filter(school_id=referral.school_id, enrolment_id=referral.case.enrolment_id)
    if la.certificate_period == LocalAuthority.CertificatePeriod.LAST_SESSIONS:
        return sorted(marks.order_by("-date", "-session")[:la.certificate_sessions], key=lambda m: (m.date, m.session))
    newest = marks.order_by("-date").values_list("date", flat=True).first()
    if newest is None:
        return []
    start_year = newest.year - 1 if newest.month >= 9 else newest.year - 2
    return list(marks.filter(date__gte=f"{start_year}-09-01").order_by("date", "session"))


def pack_data(*, referral: Referral) -> dict[str, Any]:
    """Everything the pack holds, read now (in the school's scope) and kept as it is."""
    school, case, pupil = referral.school, referral.case, referral.pupil
    consideration, nti = referral.consideration, referral.notice_to_improve
    met = {(d, s) for d, s, *_ in consideration.sessions}
    marks = _certificate_sessions(referral)
    amended = {m.pk: [(e.code, e.pgh_created_at.isoformat()) for e in m.events.order_by("pgh_id")]
               for m in marks if m.version > 1}
    letters = Letter.objects.filter(school=school, pupil=pupil).select_related("guardian").order_by("created_at")
    sends: dict[int, list[LetterSend]] = {}
    for send in LetterSend.objects.filter(school=school, letter__in=letters).select_related("approved_by"):
        sends.setdefault(send.letter_id, []).append(send)
    person = lambda user: user.get_full_name() or user.username if user else ""  # noqa: E731
    order = list(code_table.CODES)
    used = sorted({m.code for m in marks}, key=lambda code: order.index(code) if code in order else len(order))
    return {
        "school": {"name": school.name, "urn": school.urn},
        "local_authority": referral.local_authority.name,
        "pupil": {"name": pupil.full_name, "upn": pupil.upn, "date_of_birth": pupil.date_of_birth.isoformat(),
                  "year_group": pupil.year_group},
        "parents": [{"name": p.name, "relationship": p.relationship,
                     "address": ", ".join(p.guardian.address.splitlines()) if p.guardian else "",
                     "postcode": p.guardian.postcode if p.guardian else ""}
                    for p in referral_parents(referral=referral)],
        "certificate": [{"date": m.date.isoformat(), "session": m.session, "code": m.code, "note": m.note,
                         "met": (m.date.isoformat(), m.session) in met,
                         "amended": "; ".join(f"{code} at {at[:16]}" for code, at in amended.get(m.pk, []))}
                        for m in marks],
        "codes": [_code_row(code) for code in used],
        "signals": [list(s) for s in consideration.sessions],
        "letters": [_letter_row(letter, sends.get(letter.pk, []), person) for letter in letters],
        "meetings": [{"when": m.when.isoformat()[:16], "type": m.meeting_type, "status": m.get_status_display(),
                      "minutes": m.minutes} for m in Meeting.objects.filter(school=school, case=case)],
        "contacts": [{"when": e.at.isoformat()[:16], "kind": e.get_kind_display(), "note": e.why or e.title,
                      "by": person(e.by)} for e in CaseEvent.objects.filter(
                          school=school, case=case, kind__in=[EventKind.CALL, EventKind.HOME_VISIT])],
        "plans": [{"kind": c.get_kind_display(), "start": c.start.isoformat(), "end": c.end.isoformat(),
                   "review": c.review_on.isoformat(), "outcome": c.get_outcome_display()}
                  for c in AttendanceContract.objects.filter(school=school, case=case)],
        "notice_to_improve": {"issued": nti.issued_on.isoformat(), "ends": nti.ends_on.isoformat(),
                              "weeks": nti.weeks, "allowed": nti.allowed_sessions, "found": nti.sessions_so_far,
                              "outcome": nti.get_status_display()} if nti else None,
        "support": [{"offered": s.offered_on.isoformat(), "kind": s.get_kind_display(),
                     "taken_up": s.get_taken_up_display(), "note": s.note}
                    for s in SupportRecord.objects.filter(school=school, case=case)],
        "consideration": {"decision": consideration.get_decision_display(),
                          "support": consideration.get_support_display(),
                          "other_step": consideration.other_step_better, "equality": consideration.equality,
                          "reasons": consideration.reasons, "by": person(consideration.decided_by),
                          "at": consideration.decided_at.isoformat()[:16], "context": consideration.context},
        "authorisation": {"by": person(referral.authorised_by), "as": referral.authorised_as,
                          "at": referral.authorised_at.isoformat()[:16] if referral.authorised_at else ""},
        "leave": [{"from": r.first_date.isoformat(), "to": r.last_date.isoformat(), "status": r.get_status_display(),
                   "reason": r.reason} for r in LeaveRequest.objects.filter(school=school, pupil=pupil)],
        "missing": list(referral.missing), "incomplete_reason": referral.incomplete_reason,
    }


def _code_row(code: str) -> dict[str, str]:
    """A code on the certificate explained, from the one code table."""
    found = code_table.CODES.get(code)
    if found is None:
        return {"code": code, "meaning": "Not a national attendance code", "counts": ""}
    return {"code": code, "meaning": found.meaning, "counts": found.how_counted}


def _when(moment: Any) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}"


def _send_text(send: LetterSend) -> str:
    if send.channel == LetterSend.Channel.POST:
        text = f"Post, {_when(send.sent_at)}, to {send.to or 'no address recorded'}"
    elif send.channel == LetterSend.Channel.EMAIL:
        text = f"E-mail, {_when(send.sent_at)}, to {send.to}"
    else:
        text = f"Parent portal, {_when(send.sent_at)}"
    return text if send.ok else f"{text} (failed: {send.error})"


def _letter_row(letter: Letter, sends: list[LetterSend], person: Any) -> dict[str, Any]:
    """One letter as the pack lists it: when and how it went, the proof of posting (the post office's record
    of the letter: when it went into the post and to which address, and who approved it), and the stored
    copy (its storage name and hash, so the build takes exactly the letter that was sent)."""
    posted = [s for s in sends if s.channel == LetterSend.Channel.POST and s.ok]
    copy = letter.status == Letter.Status.SENT and bool(letter.pdf)
    return {
        "date": letter.created_at.date().isoformat(), "kind": letter.get_kind_display(),
        "to": str(letter.guardian or letter.recipient_name), "status": letter.get_status_display(),
        "sent": "; ".join(_send_text(s) for s in sends),
        "channels": ", ".join(s.get_channel_display() for s in sends if s.ok),
        "posted": "; ".join(f"Posted {_when(s.sent_at)} to {s.to or 'no address recorded'}, approved by "
                            f"{person(s.approved_by)}" for s in posted),
        "pdf": letter.pdf if copy else "", "pdf_sha256": letter.pdf_sha256 if copy else "",
    }


# The columns of each CSV, in order (the frozen data is JSON, whose keys PostgreSQL does not keep in order).
CSV_SECTIONS: dict[str, tuple[str, ...]] = {
    "parents": ("name", "relationship", "address", "postcode"),
    "certificate": ("date", "session", "code", "met", "note", "amended"),
    "codes": ("code", "meaning", "counts"),
    "letters": ("date", "kind", "to", "status", "channels", "sent", "posted", "copy_pages", "pdf_sha256"),
    "meetings": ("when", "type", "status", "minutes"),
    "contacts": ("when", "kind", "note", "by"),
    "plans": ("kind", "start", "end", "review", "outcome"),
    "support": ("offered", "kind", "taken_up", "note"),
    "leave": ("from", "to", "status", "reason"),
}


class LetterCopyMissing(Exception):
    """A sent letter's stored PDF is gone or is not the file that was sent: the pack cannot vouch for a copy."""


def _letter_copies(data: dict[str, Any]) -> list[bytes | None]:
    """The stored PDF of each letter the pack lists (None for one with no copy: not sent, or never made),
    checked against the hash recorded when it was made."""
    copies: list[bytes | None] = []
    for row in data.get("letters") or []:
        if not row.get("pdf"):
            copies.append(None)
            continue
        try:
            with default_storage.open(row["pdf"], "rb") as handle:
                content = handle.read()
        except OSError as error:
            raise LetterCopyMissing(f"The copy of the {row['kind']} letter of {row['date']} is missing.") from error
        if sha256(content) != row["pdf_sha256"]:
            raise LetterCopyMissing(f"The copy of the {row['kind']} letter of {row['date']} is not the letter sent.")
        copies.append(content)
    return copies


def copy_pages(counts: list[int], own_pages: int) -> list[str]:
    """Where each letter's copy is in the merged PDF, after the pack's own pages ("" for no copy)."""
    found, first = [], own_pages + 1
    for pages in counts:
        found.append(f"{first}-{first + pages - 1}" if pages > 1 else f"{first}" if pages else "")
        first += pages
    return found


def _pack_pdf(data: dict[str, Any], copies: list[bytes | None]) -> tuple[bytes, list[str]]:
    """The pack's own pages, then a copy of each sent letter; and where each copy starts.

    Where the copies start depends on how many pages the pack has, which the page numbers printed in it
    could change: so it is laid out until the count settles (the second time, in practice)."""
    counts = [len(PdfReader(io.BytesIO(c)).pages) if c is not None else 0 for c in copies]
    own, document, where = 1, None, []
    for _ in range(4):
        where = copy_pages(counts, own)
        rows = [{**row, "copy_pages": at} for row, at in zip(data.get("letters") or [], where, strict=True)]
        html = render_to_string("penalties/evidence_pack.html", {"d": {**data, "letters": rows}})
        footer = CSS(string=PAGE_FOOTER % (own + sum(counts)))
        document = HTML(string=html, url_fetcher=LocalOnlyFetcher()).render(stylesheets=[footer, PACK_STYLE])
        if len(document.pages) == own:
            break
        own = len(document.pages)
    assert document is not None  # noqa: S101 - the loop runs at least once
    pdf = document.write_pdf()
    assert pdf is not None  # noqa: S101 - write_pdf without a target returns the bytes
    if not any(counts):
        return pdf, where
    writer = PdfWriter()
    for part in (pdf, *(c for c in copies if c is not None)):
        writer.append(io.BytesIO(part))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue(), where


def pack_files(data: dict[str, Any], stem: str) -> tuple[bytes, bytes]:
    """The PDF (the pack, then a copy of each sent letter) and the ZIP of CSVs made from a pack's frozen data."""
    pdf, where = _pack_pdf(data, _letter_copies(data))
    sections = {**data, "letters": [{**row, "copy_pages": at} for row, at in zip(data.get("letters") or [], where,
                                                                                  strict=True)]}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for section, columns in CSV_SECTIONS.items():
            text = io.StringIO()
            writer = csvsafe.writer(text)
            writer.writerow(columns)
            writer.writerows([row.get(c, "") for c in columns] for row in sections.get(section) or [])
            archive.writestr(f"{stem}_{section}.csv", text.getvalue())
        summary = io.StringIO()
        writer_ = csvsafe.writer(summary)
        writer_.writerow(["item", "value"])
        for key in ("local_authority",):
            writer_.writerow([key, data[key]])
        for key, value in {**data["pupil"], **{f"decision_{k}": v for k, v in data["consideration"].items()
                                               if k != "context"}}.items():
            writer_.writerow([key, value])
        archive.writestr(f"{stem}_summary.csv", summary.getvalue())
    return pdf, out.getvalue()


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()
