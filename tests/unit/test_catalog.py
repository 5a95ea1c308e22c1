from __future__ import annotations

import pytest

from oms_webhooks.domain.event_catalog import EVENT_TYPES, canonical_event_type


@pytest.mark.parametrize("name", EVENT_TYPES)
def test_every_type_and_its_dashed_alias_name_the_same_event(name: str) -> None:
    assert canonical_event_type(name) == name
    assert canonical_event_type(name.replace(".", "-")) == name


@pytest.mark.parametrize(
    "name", ["", "package", "package.created ", "PACKAGE.CREATED", "package_created", "order.created"]
)
def test_anything_else_is_unknown(name: str) -> None:
    assert canonical_event_type(name) is None


def test_catalog_has_the_eighteen_oms_events() -> None:
    assert len(set(EVENT_TYPES)) == 18
