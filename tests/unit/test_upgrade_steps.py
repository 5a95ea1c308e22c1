"""The upgrade README "Upgrading a deployed stack" documents, step by step, against CloudFormation's rule that one
table update creates or deletes at most one global secondary index and changes none that stays."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from oms_webhooks import wiring
from oms_webhooks_cli.template import Template
from tests.previous_release import previous_template
from tests.unit.conftest import InEnvironment

Indexes = dict[str, tuple[Any, Any]]


def deliveries_indexes(template: Template) -> Indexes:
    """DeliveriesTable's global secondary indexes as CloudFormation compares them: name -> (keys, projection)."""
    found = template.tables()["DeliveriesTable"]["GlobalSecondaryIndexes"]
    return {index["IndexName"]: (index["KeySchema"], index["Projection"]) for index in found}


def changes(before: Indexes, after: Indexes) -> tuple[set[str], set[str], set[str]]:
    """Indexes created, deleted, and kept under the same name with other keys or projection."""
    changed = {name for name in before.keys() & after.keys() if before[name] != after[name]}
    return after.keys() - before.keys(), before.keys() - after.keys(), changed


def test_the_upgrade_from_the_previous_release_is_two_deploys_of_one_index_each(tmp_path: Path) -> None:
    previous = deliveries_indexes(previous_template(tmp_path))
    keeping = deliveries_indexes(Template(parameters={"KeepPreviousOwnerIndex": "true"}))
    current = deliveries_indexes(Template())

    assert changes(previous, keeping) == ({"ByOwnerLog"}, set(), set())  # ByOwner kept exactly as it was
    assert changes(keeping, current) == (set(), {"ByOwner"}, set())
    # Without the parameter the update would create one index and delete another: CloudFormation refuses it.
    assert changes(previous, current) == ({"ByOwnerLog"}, {"ByOwner"}, set())


@pytest.mark.parametrize(
    ("keep", "read"),
    [("true", "ByOwner"), ("false", "ByOwnerLog")],
    ids=["the first deploy: ByOwnerLog is being filled", "the second"],
)
@pytest.mark.parametrize("function", ["ApiFunction", "DispatcherFunction", "RetrierFunction", "SequencerFunction"])
def test_while_the_previous_index_is_kept_the_owners_log_is_read_from_it(
    in_environment: InEnvironment, function: str, keep: str, read: str
) -> None:
    """DynamoDB refuses to read an index it is filling, and CloudFormation does not wait for the fill: during the
    first deploy's fill the log must be read from ByOwner, which holds every attribute ByOwnerLog does."""
    in_environment(Template(parameters={"KeepPreviousOwnerIndex": keep}).functions()[function].environment)
    assert wiring.delivery_store().owner_index == read
    assert wiring.delivery_index().owner_index == read
