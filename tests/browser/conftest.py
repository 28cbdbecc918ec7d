"""Every browser test fails on a Content-Security-Policy violation that chromium reports.

The page's `securitypolicyviolation` events and chromium's console messages about the policy are both
collected for the test's whole browser context (every page and navigation); a test with any left over
fails, naming what was refused and where.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

REPORT = """
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolation(`${e.effectiveDirective} refused ${e.blockedURI || "inline code"} `
    + `at ${e.sourceFile || document.location.pathname}:${e.lineNumber} (${e.sample || "no sample"})`);
});
"""


@dataclass
class CspWatch:
    violations: list[str] = field(default_factory=list)
    context: Any = None

    def flush(self) -> list[str]:
        """Let events still on their way from the browser arrive, then return what was reported."""
        for page in list(self.context.pages) if self.context is not None else []:
            if not page.is_closed():
                page.evaluate("0")  # a round trip: earlier events are delivered before its answer
        return self.violations

    def take(self) -> list[str]:
        found, self.violations = self.flush(), []
        return found


@pytest.fixture(autouse=True)
def csp_violations(request: pytest.FixtureRequest, context: Any) -> Iterator[CspWatch]:
    watch = CspWatch(context=context)
    context.expose_binding("__cspViolation", lambda source, text: watch.violations.append(text))
    context.add_init_script(REPORT)

    def on_console(message: Any) -> None:
        if "Content Security Policy" in message.text:
            watch.violations.append(f"console: {message.text}")

    context.on("console", on_console)
    request.node.csp_watch = watch
    yield watch
    watch.context = None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    result = yield
    watch: CspWatch | None = getattr(item, "csp_watch", None)
    if watch is not None:
        found = watch.flush()
        if found:
            pytest.fail("Content-Security-Policy violations reported by chromium:\n" + "\n".join(found),
                        pytrace=False)
    return result
