"""bench/record_size.py's meter prices a record by the indexes the template deploys, its conditions decided: the
cost figures of `make bench` and docs/ARCHITECTURE.md's layout decision rest on it."""

from __future__ import annotations

from bench.record_size import indexes, stored_bytes, tables, write_units
from oms_webhooks_cli.template import Template
from tests.unit.test_dynamodb_json import RECORD

FIRST_ATTEMPT = RECORD  # a delivery delivered at its first attempt, as the dispatcher stores it


def projections(template: Template) -> dict[str, frozenset[str] | None]:
    _, places = indexes(template)
    return {index.name: index.projected for index in places}


def test_the_meter_reads_the_indexes_each_upgrade_step_deploys() -> None:
    current = projections(Template())
    assert list(current) == ["ByOwnerLog", "ByHook", "ByOwnerId", "Parked"]
    assert current["ByOwnerId"] == frozenset() and current["ByHook"] == {"status", "test", "attempt_log", "recovery"}
    keeping = projections(Template(parameters={"KeepPreviousOwnerIndex": "true"}))
    assert keeping == {**current, "ByOwner": None}  # projects every attribute


def test_a_first_attempt_costs_one_write_unit_in_the_table_and_one_in_each_index_it_appears_in() -> None:
    key, places = indexes(Template())
    assert key == {"uuid"}
    units = write_units(None, FIRST_ATTEMPT, places)
    assert units == {"table": 1, "ByOwnerLog": 1, "ByHook": 1, "ByOwnerId": 1}  # not parked: no Parked entry
    stored = stored_bytes(FIRST_ATTEMPT, places)
    assert set(stored) == {"table", "ByOwnerLog", "ByHook", "ByOwnerId"}
    assert all(size > 100 for size in stored.values())  # each with DynamoDB's 100 bytes of overhead
    assert write_units(FIRST_ATTEMPT, FIRST_ATTEMPT, places) == {"table": 1}  # rewritten as is: no index changes


def test_every_table_of_the_stack_is_priced_under_its_name() -> None:
    template = Template(stack_name="meter")
    found = tables(template)
    assert found[template.physical_name("DeliveriesTable")].label == "table"
    assert {table.label for table in found.values()} >= {"table", "HooksTable"}
