"""Every `type: ignore` in application code names its error code and says why on the same line.

The packages are the ones mypy checks (pyproject.toml, [tool.mypy] packages), so a new package is covered
the day it is type-checked. mypy itself refuses an ignore without a code (`ignore-without-code`) and one
that no longer silences anything (`warn_unused_ignores`); the reason is what this test adds.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

BASE = Path(__file__).resolve().parents[2]
ANY_IGNORE = re.compile(r"#\s*type\s*:\s*ignore")
# `# type: ignore[code, code]  # reason`: one or more codes, then a comment with some words.
WITH_REASON = re.compile(r"#\s*type:\s*ignore\[[a-z0-9-]+(,\s*[a-z0-9-]+)*\]\s+#\s*\S.*$")


def _checked_packages() -> list[str]:
    config = tomllib.loads((BASE / "pyproject.toml").read_text(encoding="utf-8"))
    return config["tool"]["mypy"]["packages"]


def ignores_without_reason(text: str) -> list[int]:
    """Line numbers of `type: ignore` comments that lack an error code or a reason after them."""
    return [n for n, line in enumerate(text.splitlines(), 1)
            if ANY_IGNORE.search(line) and not WITH_REASON.search(line)]


def test_the_rule_tells_a_reasoned_ignore_from_a_bare_one():
    assert ignores_without_reason("x = f()  # type: ignore[arg-type]  # f is untyped upstream\n") == []
    assert ignores_without_reason("x = f()  # type: ignore[misc,arg-type]  # checked above\n") == []
    assert ignores_without_reason("x = f()  # type: ignore\n") == [1]
    assert ignores_without_reason("x = f()  # type: ignore  # no code\n") == [1]
    assert ignores_without_reason("x = f()  # type:ignore[arg-type]\n") == [1]
    assert ignores_without_reason("x = f()  # type: ignore[arg-type]  #\n") == [1]


def test_every_type_ignore_in_application_code_gives_its_reason():
    packages = _checked_packages()
    assert "attendance_portal" in packages
    found = []
    for package in packages:
        for path in sorted((BASE / package).rglob("*.py")):
            for n in ignores_without_reason(path.read_text(encoding="utf-8")):
                found.append(f"{path.relative_to(BASE)}:{n}")
    assert found == [], "a type: ignore needs its code and a reason on the line: " + ", ".join(found)
