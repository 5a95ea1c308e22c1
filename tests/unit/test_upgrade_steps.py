"""The upgrade README "Upgrading a deployed stack" documents, step by step, against CloudFormation's rule that one
table update creates or deletes at most one global secondary index and changes none that stays."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from oms_webhooks_cli.template import PROJECT_ROOT, Template

PREVIOUS_RELEASE = "49fff1f"  # the release whose deliveries table has ByOwner (Projection ALL) instead of ByOwnerLog

Indexes = dict[str, tuple[Any, Any]]


def deliveries_indexes(template: Template) -> Indexes:
    """DeliveriesTable's global secondary indexes as CloudFormation compares them: name -> (keys, projection)."""
    properties = template.resolve(template.resources["DeliveriesTable"]["Properties"])
    return {
        index["IndexName"]: (index["KeySchema"], index["Projection"]) for index in properties["GlobalSecondaryIndexes"]
    }


def previous_release(tmp_path: Path) -> Template:
    """The previous release's template from git history. A clone without it fails here: skipping would hide that the
    upgrade is no longer checked (CI's clone of main has the whole history)."""
    shown = subprocess.run(
        ["git", "show", f"{PREVIOUS_RELEASE}:template.yaml"], cwd=PROJECT_ROOT, capture_output=True, text=True
    )
    if shown.returncode != 0:
        pytest.fail(f"`git show {PREVIOUS_RELEASE}:template.yaml` failed (a shallow clone?): {shown.stderr.strip()}")
    path = tmp_path / "template.yaml"
    path.write_text(shown.stdout)
    return Template(path=path)


def changes(before: Indexes, after: Indexes) -> tuple[set[str], set[str], set[str]]:
    """Indexes created, deleted, and kept under the same name with other keys or projection."""
    changed = {name for name in before.keys() & after.keys() if before[name] != after[name]}
    return after.keys() - before.keys(), before.keys() - after.keys(), changed


def test_the_upgrade_from_the_previous_release_is_two_deploys_of_one_index_each(tmp_path: Path) -> None:
    previous = deliveries_indexes(previous_release(tmp_path))
    keeping = deliveries_indexes(Template(parameters={"KeepPreviousOwnerIndex": "true"}))
    current = deliveries_indexes(Template())

    assert changes(previous, keeping) == ({"ByOwnerLog"}, set(), set())  # ByOwner kept exactly as it was
    assert changes(keeping, current) == (set(), {"ByOwner"}, set())
    # Without the parameter the update would create one index and delete another: CloudFormation refuses it.
    assert changes(previous, current) == ({"ByOwnerLog"}, {"ByOwner"}, set())
