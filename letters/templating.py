"""The letter template language: Jinja2's sandbox over a fixed set of merge fields.

Staff write plain paragraphs (a blank line starts a new one, a line starting "- " is a bullet) with
`{{ pupil.forename }}`-style merge fields and simple `{% if %}` / `{% for %}` blocks. A template is checked
when it is saved: every name must be a merge field below and every `.part` one of that field's parts;
calls, private attributes, imports and includes are refused with a message saying which. Rendering
uses a sandbox with no globals, a short list of filters, autoescaping and `StrictUndefined`, so even
a template that slipped past the check can reach only the merge data. Tables (the sessions behind a
letter, the days-missed table, the reply slip) are built here from the frozen data, never by staff.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, nodes
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup, escape

# Each merge field, with its parts (None: a single value). One place: the editor lists these too.
MERGE_FIELDS: dict[str, dict[str, str] | str] = {
    "school": {
        "name": "School name", "address": "School address", "phone": "School telephone",
        "email": "School e-mail", "headteacher": "Headteacher's name", "attendance_lead": "Attendance lead's name",
        "attendance_lead_role": "Attendance lead's role",
    },
    "pupil": {
        "name": "Pupil's full name", "forename": "Pupil's first name", "surname": "Pupil's surname",
        "year_group": "Year group", "registration_group": "Class or form", "date_of_birth": "Date of birth",
    },
    "parent": {"name": "Recipient's name", "address": "Recipient's address", "salutation": "Dear …"},
    "letter_date": "Date of the letter",
    "period": {"start": "Start of the period the figures cover", "end": "End of the period"},
    "figures": {
        "attendance_percent": "Attendance %", "absence_percent": "Absence %",
        "possible_sessions": "Possible sessions", "sessions_attended": "Sessions attended",
        "sessions_missed": "Sessions missed", "days_missed": "Days missed (two sessions a day)",
        "authorised_sessions": "Authorised absence (sessions)", "unauthorised_sessions": "Unauthorised (sessions)",
        "illness_sessions": "Illness (sessions)", "late_sessions": "Late arrivals (sessions)",
        "minutes_late": "Minutes late in total",
    },
    "sessions": "The sessions behind this letter (for a loop: date, session, code, meaning)",
    "sessions_count": "How many sessions are behind this letter",
    "sessions_table": "The sessions behind this letter, as a table",
    "attendance_table": "Table: attendance % and the days and sessions missed over a school year",
    "meeting": {"date": "Meeting date", "time": "Meeting time", "place": "Meeting place",
                "with": "Who the meeting is with"},
    "leave": {"first_date": "First day of leave", "last_date": "Last day of leave",
              "reason": "Reason for the decision"},
    "deadline": "A date by which something is asked for",
    "officer": {"name": "Officer's name", "role": "Officer's role"},
    "reply_slip": "A reply slip to cut off and return",
}
TABLE_FIELDS = frozenset({"sessions_table", "attendance_table", "reply_slip"})
ALLOWED_FILTERS = ("upper", "lower", "title", "capitalize", "default", "round", "int", "join", "length", "trim",
                   "first", "last")
ALLOWED_STATEMENTS = (nodes.Output, nodes.If, nodes.For, nodes.TemplateData)
SESSION_PARTS = frozenset({"date", "session", "code", "meaning"})


class TemplateRefused(ValueError):
    """A template that cannot be saved; `messages` says why, in words staff can act on."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages


def _environment() -> SandboxedEnvironment:
    env = SandboxedEnvironment(autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.globals.clear()
    env.filters = {name: env.filters[name] for name in ALLOWED_FILTERS}
    env.tests = {name: env.tests[name] for name in ("defined", "none", "number", "string", "odd", "even")}
    return env


ENV = _environment()


def _walk(node: nodes.Node, loop_names: frozenset[str], problems: list[str], used: set[tuple[str, str]]) -> None:
    if isinstance(node, nodes.For):
        names = [node.target] if isinstance(node.target, nodes.Name) else list(node.target.find_all(nodes.Name))
        targets = frozenset(n.name for n in names)
        if not isinstance(node.iter, nodes.Name) or node.iter.name != "sessions":
            problems.append("A loop can only go over {{ sessions }}.")
        else:
            used.add(("sessions", ""))
        for child in node.body + node.else_:
            _walk(child, loop_names | targets, problems, used)
        if node.test is not None:
            _walk(node.test, loop_names | targets, problems, used)
        return
    if isinstance(node, nodes.Template | nodes.Output | nodes.If | nodes.TemplateData):
        pass
    elif isinstance(node, nodes.Stmt):
        problems.append(f"'{{% {type(node).__name__.lower()} %}}' cannot be used in a letter.")
        return
    if isinstance(node, nodes.Call):
        problems.append("Letters can show merge fields but cannot call anything (no brackets after a field).")
        return
    if isinstance(node, nodes.Getitem):
        problems.append("Use pupil.forename rather than square brackets.")
        return
    if isinstance(node, nodes.Filter | nodes.Test) and node.name not in (ALLOWED_FILTERS if isinstance(
            node, nodes.Filter) else ("defined", "none", "number", "string", "odd", "even")):
        problems.append(f"'{node.name}' is not available in letters.")
    if isinstance(node, nodes.Getattr):
        if node.attr.startswith("_"):
            problems.append(f"'{node.attr}' is not a merge field.")
            return
        if isinstance(node.node, nodes.Name):
            base = node.node.name
            if base in loop_names:
                if node.attr not in SESSION_PARTS:
                    problems.append(f"A session has no '{node.attr}' (use date, session, code or meaning).")
                return
            parts = MERGE_FIELDS.get(base)
            if parts is None:
                problems.append(f"'{base}' is not a merge field.")
            elif isinstance(parts, str) or node.attr not in parts:
                problems.append(f"'{base}.{node.attr}' is not a merge field.")
            else:
                used.add((base, node.attr))
            return
        problems.append("Merge fields have only one part after the dot, such as pupil.forename.")
    if isinstance(node, nodes.Name) and node.ctx == "load" and node.name not in loop_names:
        parts = MERGE_FIELDS.get(node.name)
        if parts is None:
            problems.append(f"'{node.name}' is not a merge field.")
        elif isinstance(parts, dict):
            problems.append(f"'{node.name}' needs a part, such as {node.name}.{next(iter(parts))}.")
        else:
            used.add((node.name, ""))
        return
    for child in node.iter_child_nodes():
        _walk(child, loop_names, problems, used)


def template_check(source: str) -> set[tuple[str, str]]:
    """The merge fields a template uses, or TemplateRefused listing every problem found."""
    try:
        tree = ENV.parse(source)
    except TemplateSyntaxError as exc:
        raise TemplateRefused([f"Line {exc.lineno}: {exc.message}"]) from exc
    problems: list[str] = []
    used: set[tuple[str, str]] = set()
    _walk(tree, frozenset(), problems, used)
    if problems:
        raise TemplateRefused(list(dict.fromkeys(problems)))
    return used


def empty_fields(used: set[tuple[str, str]], data: Mapping[str, Any]) -> list[str]:
    """Merge fields the template uses that are empty in this recipient's data (tables included)."""
    empty = []
    context = context_for(data)
    for base, part in sorted(used):
        value = context.get(base)
        if part:
            value = value.get(part) if isinstance(value, Mapping) else None
        if value in (None, "", [], {}):
            empty.append(f"{base}.{part}" if part else base)
    return empty


# ---------------------------------------------------------------- building the tables


def _table(headers: list[str], rows: list[list[str]], css: str) -> Markup:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return Markup(f'<table class="{css}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>')  # noqa: S704


def sessions_table(sessions: list[Mapping[str, str]]) -> Markup:
    if not sessions:
        return Markup("")
    return _table(["Date", "Session", "Code", "What it means"],
                  [[s["date"], s["session"], s["code"], s["meaning"]] for s in sessions], "sessions")


def attendance_table(bands: list[Mapping[str, Any]]) -> Markup:
    return _table(["Attendance over a school year", "Days of learning missed", "Sessions missed"],
                  [[f"{b['percent']}%", f"{b['days']} days", f"{b['sessions']} sessions"] for b in bands], "bands")


def reply_slip(data: Mapping[str, Any]) -> Markup:
    pupil = escape(data.get("pupil", {}).get("name", ""))
    school = escape(data.get("school", {}).get("name", ""))
    return Markup(  # noqa: S704 - every value is escaped above
        f'<div class="slip"><p class="cut">Please cut here and return this slip to {school}.</p>'
        f"<p>Pupil: {pupil}</p><p>I have read this letter.  Signed: ____________________  "
        "Date: ____________</p><p>Anything you would like us to know:</p><p>&nbsp;</p></div>"
    )


def context_for(data: Mapping[str, Any]) -> dict[str, Any]:
    """The Jinja context: the frozen data plus the tables made from it."""
    context = dict(data)
    context["sessions_table"] = sessions_table(data.get("sessions", []))
    context["attendance_table"] = attendance_table(data.get("attendance_bands", []))
    context["reply_slip"] = reply_slip(data)
    return context


# ---------------------------------------------------------------- rendering the body


@lru_cache(maxsize=256)
def _compiled(source: str) -> Template:
    """Compile a body with its own text escaped: staff write words, not HTML (Jinja trusts template text)."""
    tree = ENV.parse(source)
    for data in tree.find_all(nodes.TemplateData):
        data.data = str(escape(data.data))
    return ENV.from_string(tree)


@dataclass(frozen=True)
class RenderedBody:
    subject: str
    html: Markup


def _paragraphs(text: str) -> Iterator[str]:
    for block in text.replace("\r\n", "\n").split("\n\n"):
        block = block.strip("\n")
        if not block.strip():
            continue
        stripped = block.strip()
        if stripped.startswith(("<table", '<div class="slip"')):  # built here; staff text is escaped
            yield stripped
        elif all(line.lstrip().startswith("- ") for line in block.splitlines()):
            items = "".join(f"<li>{line.lstrip()[2:]}</li>" for line in block.splitlines())
            yield f"<ul>{items}</ul>"
        elif stripped.startswith("## "):
            yield f"<h2>{stripped[3:]}</h2>"
        else:
            yield "<p>" + "<br>".join(block.splitlines()) + "</p>"


def body_render(*, subject: str, body: str, data: Mapping[str, Any]) -> RenderedBody:
    """Render a checked template over frozen merge data. Raises TemplateRefused on anything unsafe."""
    context = context_for(data)
    try:
        html = _compiled(body).render(context)
        title = ENV.from_string(subject).render(context)
    except (SecurityError, UndefinedError, TemplateSyntaxError) as exc:
        raise TemplateRefused([str(exc)]) from exc
    return RenderedBody(subject=Markup(title).striptags(), html=Markup("\n".join(_paragraphs(html))))  # noqa: S704
