"""The evidence pack: what goes in it (frozen as data when the referral is submitted) and how its files are
made from that data (one PDF, and a ZIP of the same data as CSV). No writes to the database here."""
from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import zipfile
from typing import Any

from django.template.loader import render_to_string
from weasyprint import CSS, HTML

from absence.models import LeaveRequest
from attendance_portal import csvsafe
from interventions.models import AttendanceContract, CaseEvent, EventKind, Meeting, SupportRecord
from letters.models import Letter, LetterSend
from letters.rendering import LocalOnlyFetcher
from registers.models import Mark

from .models import LocalAuthority, Referral

PACK_STYLE = CSS(string="""
@page { size: A4; margin: 14mm; @bottom-center { content: "Page " counter(page) " of " counter(pages);
        font-size: 8pt; } }
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
    sends: dict[int, list[str]] = {}
    for send in LetterSend.objects.filter(school=school, letter__in=letters):
        sends.setdefault(send.letter_id, []).append(f"{send.get_channel_display()} {send.sent_at:%Y-%m-%d}")
    person = lambda user: user.get_full_name() or user.username if user else ""  # noqa: E731
    return {
        "school": {"name": school.name, "urn": school.urn},
        "local_authority": referral.local_authority.name,
        "pupil": {"name": pupil.full_name, "upn": pupil.upn, "date_of_birth": pupil.date_of_birth.isoformat(),
                  "year_group": pupil.year_group},
        "parents": [{"name": p["name"], "address": "not held in the register: see the school's MIS"}
                    for p in referral.parents],
        "certificate": [{"date": m.date.isoformat(), "session": m.session, "code": m.code, "note": m.note,
                         "met": (m.date.isoformat(), m.session) in met,
                         "amended": "; ".join(f"{code} at {at[:16]}" for code, at in amended.get(m.pk, []))}
                        for m in marks],
        "signals": [list(s) for s in consideration.sessions],
        "letters": [{"date": letter.created_at.date().isoformat(), "kind": letter.get_kind_display(),
                     "to": str(letter.guardian or ""), "status": letter.get_status_display(),
                     "sent": ", ".join(sends.get(letter.pk, []))} for letter in letters],
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


# The columns of each CSV, in order (the frozen data is JSON, whose keys PostgreSQL does not keep in order).
CSV_SECTIONS: dict[str, tuple[str, ...]] = {
    "parents": ("name", "address"),
    "certificate": ("date", "session", "code", "met", "note", "amended"),
    "letters": ("date", "kind", "to", "status", "sent"),
    "meetings": ("when", "type", "status", "minutes"),
    "contacts": ("when", "kind", "note", "by"),
    "plans": ("kind", "start", "end", "review", "outcome"),
    "support": ("offered", "kind", "taken_up", "note"),
    "leave": ("from", "to", "status", "reason"),
}


def pack_files(data: dict[str, Any], stem: str) -> tuple[bytes, bytes]:
    """The PDF and the ZIP of CSVs made from a pack's frozen data."""
    html = render_to_string("penalties/evidence_pack.html", {"d": data})
    pdf = HTML(string=html, url_fetcher=LocalOnlyFetcher()).write_pdf(stylesheets=[PACK_STYLE])
    assert pdf is not None  # noqa: S101 - write_pdf without a target returns the bytes
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for section, columns in CSV_SECTIONS.items():
            text = io.StringIO()
            writer = csvsafe.writer(text)
            writer.writerow(columns)
            writer.writerows([row.get(c, "") for c in columns] for row in data.get(section) or [])
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
