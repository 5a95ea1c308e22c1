"""A hook's one model and what follows from it: items stored before read back, new items keep their shape, and a
field added to the model reaches the request bodies, the answer, the document, the hooks table and the card."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from oms_webhooks.adapters.hook_store import _dispatch_card, _from_dispatch_card, _from_item, _to_item, hook_sk
from oms_webhooks.adapters.items import from_item, to_item
from oms_webhooks.domain.hooks import HOOK_ID_DIGITS, MAX_HOOK_ID, Hook, HookPatch, HookTarget
from oms_webhooks.domain.written import input_model, read_only_fields

MOMENT = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)

# Items as `_to_item` wrote them before the hook had one model (1eb3b35): their exact shape, the card included.
STORED_ACTIVE: dict[str, Any] = {
    "owner": {"S": "shop-1"},
    "sk": {"S": "HOOK#123456789012"},
    "id": {"N": "123456789012"},
    "event_type": {"S": "shipment.created"},
    "target_url": {"S": "https://münchen.example/h?x=1"},
    "retry_countdown_config": {"S": '{"choice":"linear","kwargs":{"base":2.5,"limit":60},"max_retries":3}'},
    "additional_headers": {"S": '{"X-Shop": "1", "X-Other": "a b"}'},
    "is_active": {"BOOL": True},
    "created_date": {"S": "2024-05-01T12:00:00.123456+00:00"},
    "modified_date": {"S": "2024-05-01T12:00:01.123456+00:00"},
    "secret_key": {"S": "s3cret"},
    "rate_limit": {"N": "0.5"},
    "config": {
        "S": '{"auth": {"auth_type": "basic", "username": "café", "password": "p:w"}, "channel": "web", "n": null, '
        '"ü": [1, {"a": null}]}'
    },
    "callback": {"S": "a.b"},
    "previous_secret_key": {"S": "old"},
    "previous_secret_expires_at": {"S": "2099-01-01T00:00:00+00:00"},
    "active_event_type": {"S": "shipment.created"},
    "dispatch": {
        "S": '{"id":123456789012,"owner":"shop-1","url":"https://münchen.example/h?x=1","cfg":"{\\"choice\\":'
        '\\"linear\\",\\"kwargs\\":{\\"base\\":2.5,\\"limit\\":60},\\"max_retries\\":3}","hdr":{"X-Shop":"1",'
        '"X-Other":"a b"},"sec":"s3cret","rl":0.5,"conf":{"auth":{"auth_type":"basic","username":"café",'
        '"password":"p:w"},"channel":"web","n":null,"ü":[1,{"a":null}]},"psec":"old","pexp":4070908800.0}'
    },
}
STORED_INACTIVE: dict[str, Any] = {
    "owner": {"S": "o"},
    "sk": {"S": "HOOK#000000000008"},
    "id": {"N": "8"},
    "event_type": {"S": "package.created"},
    "target_url": {"S": "http://r.test/"},
    "retry_countdown_config": {"S": '{"choice":"random","kwargs":{"min_value":1,"max_value":5},"max_retries":10}'},
    "additional_headers": {"S": "{}"},
    "is_active": {"BOOL": False},
    "created_date": {"S": "2024-05-01T12:00:00.123456+00:00"},
    "modified_date": {"S": "2024-05-01T12:00:00.123456+00:00"},
    "rate_limit": {"N": "10"},
    "disabled_reason": {"S": "410 Gone"},
    "disabled_at": {"S": "2024-05-01T12:00:00.123456+00:00"},
    "config": {"S": '{"channel": "x"}'},
}
ACTIVE = Hook.model_validate(
    dict(
        id=123456789012,
        owner="shop-1",
        event_type="shipment.created",
        target_url="https://münchen.example/h?x=1",
        retry_countdown_config={"choice": "linear", "kwargs": {"base": 2.5, "limit": 60}, "max_retries": 3},
        additional_headers={"X-Shop": "1", "X-Other": "a b"},
        secret_key="s3cret",
        rate_limit=0.5,
        config={
            "auth": {"auth_type": "basic", "username": "café", "password": "p:w"},
            "channel": "web",
            "n": None,
            "ü": [1, {"a": None}],
        },
        callback="a.b",
        created_date=MOMENT,
        modified_date=datetime(2024, 5, 1, 12, 0, 1, 123456, tzinfo=UTC),
        previous_secret_key="old",
        previous_secret_expires_at=datetime(2099, 1, 1, tzinfo=UTC),
    )
)
INACTIVE = Hook.model_validate(
    dict(
        id=8,
        owner="o",
        event_type="package.created",
        target_url="http://r.test/",
        retry_countdown_config={"choice": "random", "kwargs": {"min_value": 1, "max_value": 5}},
        rate_limit=10,
        config={"channel": "x"},
        is_active=False,
        created_date=MOMENT,
        modified_date=MOMENT,
        disabled_reason="410 Gone",
        disabled_at=MOMENT,
    )
)


def test_items_stored_before_read_back_as_the_hooks_they_were_written_from() -> None:
    assert _from_item(STORED_ACTIVE) == ACTIVE
    assert _from_item(STORED_INACTIVE) == INACTIVE
    assert isinstance(_from_item(STORED_INACTIVE).rate_limit, int)  # `10` stays an integer
    card = _from_dispatch_card("shipment.created", STORED_ACTIVE["dispatch"]["S"])
    assert {name: getattr(card, name) for name in HookTarget.model_fields} == {
        name: getattr(ACTIVE, name) for name in HookTarget.model_fields
    }


# The attributes of fields added to the model since those items were written, at their defaults.
ADDED_SINCE: dict[str, Any] = {"ordering": {"S": "none"}}


def test_a_hook_is_written_as_before_attribute_by_attribute_and_its_card_to_the_byte() -> None:
    for stored, hook in (({**STORED_ACTIVE, **ADDED_SINCE}, ACTIVE), ({**STORED_INACTIVE, **ADDED_SINCE}, INACTIVE)):
        item = _to_item(hook)
        assert item.pop("signature_scheme") == {"S": "symmetric"}  # the one attribute added since (issue 24)
        assert {name: list(value) for name, value in item.items()} == {
            name: list(value) for name, value in stored.items()
        }  # the same attributes, of the same DynamoDB types
        for name, value in stored.items():  # JSON text may differ in its spaces only
            if name in ("retry_countdown_config", "additional_headers", "config"):
                assert json.loads(item[name]["S"]) == json.loads(value["S"]), name
            else:
                assert item[name] == value, name
    assert _to_item(ACTIVE)["dispatch"] == STORED_ACTIVE["dispatch"]


def test_the_hook_id_rule_is_the_sort_keys_width() -> None:
    assert hook_sk(MAX_HOOK_ID) == "HOOK#" + "9" * HOOK_ID_DIGITS
    assert hook_sk(7) == "HOOK#" + "7".rjust(HOOK_ID_DIGITS, "0")


# --- a field added to the model: the ordered-delivery issue's `ordering`, as docs/ARCHITECTURE.md adds it ----------


def ordered(**fields: Any) -> Hook:
    base = {"id": 7, "owner": "o", "event_type": "package.created", "target_url": "http://r.test/"}
    return Hook.model_validate({**base, "created_date": MOMENT, "modified_date": MOMENT, **fields})


def test_an_added_field_is_written_checked_and_documented_in_the_request_bodies() -> None:
    whole: Any = input_model(Hook, "OrderedIn", partial=False)
    changes: Any = input_model(Hook, "OrderedPatch", partial=True)
    hook = {"event_type": "package.created", "target_url": "http://r.test/"}
    assert whole.model_validate({**hook, "ordering": "object"}).ordering == "object"
    assert "ordering" not in whole.model_validate(hook).model_fields_set  # left out: kept as it is
    with pytest.raises(ValidationError):
        changes.model_validate({"ordering": "sometimes"})
    patch = changes.model_validate({"ordering": None})  # null: back to the default
    assert ordered(ordering="object").changed(patch).ordering == "none"
    schema = changes.model_json_schema()["properties"]["ordering"]
    assert schema["description"] == Hook.model_fields["ordering"].description
    assert {"enum": ["none", "object"], "type": "string"} in schema["anyOf"] and {"type": "null"} in schema["anyOf"]
    assert read_only_fields(Hook) == HookPatch.read_only


def test_an_added_field_is_answered_documented_stored_and_carried_on_the_card() -> None:
    hook = ordered(ordering="object")
    assert hook.public()["ordering"] == "object"
    answer = Hook.model_json_schema(mode="serialization")
    assert "ordering" in answer["required"] and answer["properties"]["ordering"]["enum"] == ["none", "object"]

    assert to_item(hook)["ordering"] == {"S": "object"}
    assert from_item(Hook, to_item(hook)) == hook
    assert from_item(Hook, STORED_INACTIVE).ordering == "none"  # an item from before the field: its default

    card = _dispatch_card(hook)
    assert json.loads(card)["ordering"] == "object"
    assert _from_dispatch_card("package.created", card).ordering == "object"
    assert "ordering" not in json.loads(_dispatch_card(ordered()))  # at its default: the card as it was
    assert _from_dispatch_card("shipment.created", STORED_ACTIVE["dispatch"]["S"]).ordering == "none"
