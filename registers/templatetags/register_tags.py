"""The register page's rows, drawn in Python: the hot page of the morning peak.

A register of 30 pupils offered about 30 codes is 900 `<option>`s and some 1,500 template variable
look-ups: through the template language that was most of the time opening or saving a register took.
The options are the same for every row but for which one is selected, so they are escaped once per
register and only `selected` is placed per row; each row is one f-string of escaped values. The markup
is the one place the register's rows are written: the page, and the answer to a save the page already
shows (`registers/_register_saved.html`), both come from here.

The rows of the registers' progress (the day's registers page and the office board, which every office
polls every 45 seconds through the morning) are drawn the same way, one f-string a row.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any
from urllib.parse import quote

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator

from registers.marking import Register, RegisterRow, RegisterStatus

register = template.Library()

# Stands in for a row's id (a pupil's or a group's) when its URL is reversed once per table (ids are far below it).
_ROW_ID = 987654321987
_OOB = ' hx-swap-oob="true"'


@lru_cache(maxsize=256)
def _option_parts(offered: tuple[tuple[str, str], ...]) -> list[tuple[str, str, str]]:
    """Each offered (code, meaning) as the start and end of its escaped `<option>`: the code table is fixed,
    so a register's menu is drawn once per process for each set of codes offered."""
    return [(code, format_html('<option value="{}"', code), format_html(">{} {}</option>", code,
                                                                        Truncator(meaning).chars(28)))
            for code, meaning in offered]


def code_options(reg: Register, selected: str) -> str:
    """`<option>`s for the register's codes with `selected` chosen: joined once per register for each code
    its rows show (most rows of a register show the same one or two)."""
    menus = reg.__dict__.get("_code_menus")
    if menus is None:
        menus = reg.__dict__["_code_menus"] = {}
    menu = menus.get(selected)
    if menu is None:
        parts = _option_parts(tuple((c.code, c.meaning) for c in reg.valid_codes))
        menu = menus[selected] = "".join(f"{start} selected{end}" if code == selected else f"{start}{end}"
                                         for code, start, end in parts)
    return menu


class _Links:
    """A row's Amend and History addresses, reversed once per register and filled in per pupil."""

    def __init__(self, context: Any, reg: Register) -> None:
        slug = context["current_school"].slug
        self.amend = reverse("registers:amend", kwargs={"school_slug": slug, "pupil_id": _ROW_ID, "date": reg.day,
                                                        "session": reg.session})
        self.amend += "?next=" + quote(context["request"].path, safe="/")
        self.history = reverse("registers:pupil_history", kwargs={"school_slug": slug, "pupil_id": _ROW_ID})
        self.may_amend = bool(context.get("may_amend"))

    def row_msg(self, row: RegisterRow, *, oob: bool = False) -> str:
        pk = str(row.pupil.pk)
        out = [f'<td class="row-msg" id="msg_{pk}"{_OOB if oob else ""}>']
        if row.error:
            out.append(f'<span class="error">{escape(row.error)}</span>')
        if row.conflict:
            c = row.conflict
            late = (f" ({escape(c.current_minutes_late)} min late)" if c.current_minutes_late is not None else "")
            out.append(f'<span class="error">Not saved: someone else changed this while you were marking. '
                       f'It is now <strong>{escape(c.current_code or "blank")}</strong>{late}; '
                       f'you entered {escape(c.entry.code)}.</span>')
        if row.mark and self.may_amend:
            out.append(f' <a class="small" href="{self.amend.replace(str(_ROW_ID), pk)}">Amend</a>')
        out.append(f' <a class="small" href="{self.history.replace(str(_ROW_ID), pk)}">History</a></td>')
        return "".join(out)


def _version(row: RegisterRow, *, oob: bool = False) -> str:
    pk = row.pupil.pk
    return (f'<input type="hidden" id="version_{pk}" name="version_{pk}" value="{row.version}"'
            f'{_OOB if oob else ""}>')


def _row(reg: Register, row: RegisterRow, links: _Links) -> str:
    pk = str(row.pupil.pk)
    forename, surname = escape(row.pupil.forename), escape(row.pupil.surname)
    state = "has-error" if row.error else "has-conflict" if row.conflict else "unmarked" if not row.mark else ""
    badges = ""
    if row.case_stage:
        badges += (' <span class="badge warn" title="This pupil has an open attendance case">'
                   f"Case: {escape(row.case_stage)}</span>")
    if row.mark and row.prefilled:
        badges += f' <span class="badge prefilled" title="{escape(row.mark.note)}">Pre-filled</span>'
    disabled = " disabled" if row.locked else ""
    invalid = f' aria-describedby="msg_{pk}" aria-invalid="true"' if row.error or row.conflict else ""
    code = escape(row.code)
    options = (f'<option value="{code}" selected>{code}</option>' if row.locked
               else '<option value="">–</option>' + code_options(reg, row.code))
    return (
        f'<tr id="row-{pk}" data-pupil="{pk}" data-saved="{escape(row.mark.code) if row.mark else ""}" class="{state}">'
        f'<th scope="row"><span class="avatar" aria-hidden="true">{escape(row.initials)}</span> '
        f'<span class="pupil-name">{surname}, {forename}</span>{badges}</th>'
        f'<td><label class="visually-hidden" for="code_{pk}">Code for {forename} {surname}</label>'
        f'<select id="code_{pk}" name="code_{pk}" class="code"{disabled}{invalid}>{options}</select>'
        f"{_version(row)}</td>"
        f'<td><label class="visually-hidden" for="minutes_{pk}">Minutes late for {forename}</label>'
        f'<input type="number" id="minutes_{pk}" name="minutes_{pk}" value="{escape(row.minutes)}" min="0" max="300" '
        f'inputmode="numeric" class="minutes"{disabled}></td>'
        f'<td><label class="visually-hidden" for="note_{pk}">Note for {forename}</label>'
        f'<input type="text" id="note_{pk}" name="note_{pk}" value="{escape(row.note)}" maxlength="300" '
        f'class="note"{disabled}></td>'
        f"{links.row_msg(row)}</tr>\n"
    )


@register.simple_tag(takes_context=True)
def register_rows(context: Any, reg: Register) -> SafeString:
    """Every row of the register's table."""
    links = _Links(context, reg)
    return mark_safe("".join(_row(reg, row, links) for row in reg.rows))  # noqa: S308 - every value escaped above


@register.simple_tag(takes_context=True)
def register_saved_rows(context: Any, reg: Register) -> SafeString:
    """After a save the page already shows: each row's new version and links, to be swapped in by id
    (table cells travel inside `<template>`, which is how htmx carries them out of band)."""
    links = _Links(context, reg)
    return mark_safe("".join(  # noqa: S308 - every value escaped above
        f"{_version(row, oob=True)}\n<template>{links.row_msg(row, oob=True)}</template>\n" for row in reg.rows))


_BADGE = {"complete": "ok", "in_progress": "warn"}


def _status_row(s: RegisterStatus, links: dict[str, str]) -> str:
    state = s.state
    name = escape(s.group.name)
    group = (f'<a href="{links[s.session].replace(str(_ROW_ID), str(s.group.pk))}">{name}</a>'
             if state != "closed" else name)
    teachers = ", ".join(escape(t.display_name()) for t in getattr(s, "teachers", ())) or '<span class="muted">–</span>'
    badge = "bad" if s.overdue and state != "complete" else _BADGE.get(state, "")
    status = (f'<span class="badge {badge}">{escape(s.state_label)}</span>'
              + (' <strong class="overdue-label">Overdue</strong>' if s.overdue else "")
              + (f' <span class="small muted">{escape(s.closed_reason)}</span>' if s.closed_reason else ""))
    last = escape(s.last_marked_by) or "–"
    if s.last_marked_at:
        last += f' <span class="small muted">at {timezone.localtime(s.last_marked_at):%H:%M}</span>'
    return (
        f'<tr class="state-{state}{" overdue" if s.overdue else ""}">'
        f'<th scope="row">{group}</th><td>{teachers}</td><td>{escape(s.session)}</td>'
        f'<td>{s.opens.strftime("%H:%M") if s.opens else "–"}</td><td>{status}</td>'
        f'<td class="num">{f"{s.marked} / {s.enrolled}" if state != "closed" else ""}</td><td>{last}</td></tr>\n'
    )


@register.simple_tag(takes_context=True)
def status_rows(context: Any, rows: list[RegisterStatus], day: Any) -> SafeString:
    """The rows of a table of the day's registers and their progress, each linking to its register."""
    slug = context["current_school"].slug
    links = {session: reverse("registers:register", kwargs={"school_slug": slug, "group_id": _ROW_ID, "date": day,
                                                            "session": session}) for session in ("AM", "PM")}
    return mark_safe("".join(_status_row(s, links) for s in rows))  # noqa: S308 - every value escaped above
