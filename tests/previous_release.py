"""The previous release (bench/previous.py's `PREVIOUS_RELEASE`, whose deliveries table has `ByOwner`, projecting
every attribute, instead of today's `ByOwnerLog`): its template from git history, for the tests of the upgrade."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bench.previous import PREVIOUS_RELEASE
from oms_webhooks_cli.template import PROJECT_ROOT, Template


def previous_template(folder: Path) -> Template:
    """The previous release's template, written into `folder`. A clone without that commit fails here: skipping
    would hide that the upgrade is no longer checked (CI's clone of main has the whole history)."""
    shown = subprocess.run(
        ["git", "show", f"{PREVIOUS_RELEASE}:template.yaml"], cwd=PROJECT_ROOT, capture_output=True, text=True
    )
    if shown.returncode != 0:
        pytest.fail(f"`git show {PREVIOUS_RELEASE}:template.yaml` failed (a shallow clone?): {shown.stderr.strip()}")
    path = folder / "template.yaml"
    path.write_text(shown.stdout)
    return Template(path=path)
