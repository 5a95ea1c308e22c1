"""axe-core (npm, installed by `make install` into node_modules/) run in the page the test drives: what it reports
as serious or critical, each finding as one line a person can act on."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")
# WCAG 2.0, 2.1 and 2.2 A and AA, and axe's best practices (label-content-name-mismatch is among them).
RULE_SETS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


@cache
def axe_source() -> str:
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: run `make install` (it installs axe-core from npm)", pytrace=False)
    return AXE.read_text()


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """Every violation axe finds on the page as it is now (DevTools' evaluate is not subject to the page's CSP)."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(axe_source())
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})", RULE_SETS
    )
    return list(result["violations"])


def blocking_findings(page: Page) -> list[str]:
    """The serious and critical violations, one line each: rule, impact, and the elements it names."""
    found = []
    for violation in axe_violations(page):
        if violation["impact"] not in BLOCKING:
            continue
        for node in violation["nodes"]:
            found.append(
                f"{violation['id']} ({violation['impact']}): {' '.join(node['target'])} {node['failureSummary']!r}"
            )
    return found
