"""The register page's code menus, drawn once per register instead of once per option per pupil.

A register of 30 pupils offered about 30 codes is 900 `<option>`s: through the template language that
was most of the time a save took. The options are the same for every row but for which one is
selected, so they are escaped once per register and only `selected` is placed per row.
"""

from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator

from registers.marking import Register

register = template.Library()


@register.simple_tag
def code_options(reg: Register, selected: str) -> SafeString:
    """`<option>`s for the register's codes with `selected` chosen (as `{% for c in valid_codes %}` drew them)."""
    parts = reg.__dict__.get("_option_parts")
    if parts is None:
        parts = [(c.code, format_html('<option value="{}"', c.code),
                  format_html(">{} {}</option>", c.code, Truncator(c.meaning).chars(28)))
                 for c in reg.valid_codes]
        reg.__dict__["_option_parts"] = parts
    return mark_safe("".join(  # noqa: S308 - every part was escaped by format_html above
        f"{start} selected{end}" if code == selected else f"{start}{end}" for code, start, end in parts))
