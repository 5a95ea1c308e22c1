"""A hook's `config`: basic auth as whisperer sends it, its password write-only, carried to every sender."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from oms_webhooks.adapters.address_guard import AddressPolicy
from oms_webhooks.adapters.hook_store import _dispatch_card, _from_dispatch_card, _from_item, _to_item
from oms_webhooks.adapters.sender import Sender
from oms_webhooks.domain.deliveries import Delivery
from oms_webhooks.domain.hook_config import BasicAuth, HookConfig, MissingPassword
from oms_webhooks.domain.hooks import Hook, HookIn, HookPatch
from oms_webhooks.rules.attempt import attempt_delivery, delivery_headers
from tests.receiver import Receiver

MOMENT = datetime(2024, 5, 1, 12, tzinfo=UTC)
AUTH = {"auth_type": "basic", "username": "shop", "password": "pw"}


def hook(**fields: object) -> Hook:
    base = {"id": 7, "owner": "o", "event_type": "package.created", "target_url": "http://r.test/"}
    return Hook.model_validate({**base, "created_date": MOMENT, "modified_date": MOMENT, **fields})


def delivery() -> Delivery:
    return Delivery(
        uuid="0" * 32,
        owner="o",
        webhook=7,
        event_id="e",
        event_type="package.created",
        request_payload={"id": 1},
        target_url="http://r.test/",
        created_date=MOMENT,
        modified_date=MOMENT,
    )


def test_the_header_is_what_requests_httpbasicauth_sends() -> None:
    """requests encodes Basic credentials as Latin-1: `é` is one byte, 0xE9."""
    auth = BasicAuth(auth_type="basic", username="café", password="p:w")
    assert auth.header() == "Basic " + base64.b64encode("café:p:w".encode("latin-1")).decode()
    assert base64.b64decode(auth.header().split()[1]) == b"caf\xe9:p:w"


def test_every_delivery_of_a_hook_with_auth_carries_it_over_its_own_authorization_header() -> None:
    target = hook(config={"auth": AUTH}, additional_headers={"authorization": "Bearer old", "X-Shop": "1"})
    headers = delivery_headers(delivery(), target, b"{}")
    assert [name for name in headers if name.lower() == "authorization"] == ["Authorization"]
    assert headers["Authorization"] == "Basic " + base64.b64encode(b"shop:pw").decode()
    assert headers["X-Shop"] == "1"
    plain = delivery_headers(delivery(), hook(additional_headers={"Authorization": "Bearer mine"}), b"{}")
    assert plain["Authorization"] == "Bearer mine"  # without config.auth, the hook's own header goes as it is


def test_the_dispatch_card_and_the_stored_item_carry_the_whole_config() -> None:
    original = hook(config={"auth": AUTH, "channel": "web"}, callback="a.b")
    from_card = _from_dispatch_card("package.created", _dispatch_card(original))
    assert from_card.config == original.config and from_card.config.auth is not None
    assert from_card.config.auth.password == "pw"
    assert _from_item(_to_item(original)) == original
    bare = hook()
    assert "conf" not in _dispatch_card(bare) and "config" not in _to_item(bare) and "callback" not in _to_item(bare)
    assert _from_dispatch_card("package.created", _dispatch_card(bare)).config == HookConfig()


def test_a_card_whose_auth_no_longer_holds_fails_that_delivery_alone() -> None:
    """Cards are not validated again when read; an auth that breaks today's rules is one recorded failed attempt."""
    receiver = Receiver()
    try:
        sender = Sender(AddressPolicy(allow_loopback=True), total_timeout=2)
        card = json.loads(_dispatch_card(hook(target_url=receiver.url("/card"), config={"auth": AUTH})))
        sound = _from_dispatch_card("package.created", json.dumps(card))
        assert attempt_delivery(delivery(), sound, sender).status_code == 200
        assert receiver.wait_for("/card", 1)[0].headers["Authorization"] == sound.config.auth.header()  # type: ignore[union-attr]

        card["conf"]["auth"] = {"auth_type": "basic"}  # written before some rule that now requires a username
        broken = _from_dispatch_card("package.created", json.dumps(card))
        sent = delivery()
        result = attempt_delivery(sent, broken, sender)
        assert result.status_code is None and sent.response_content is not None
        assert sent.response_content.startswith("Not sent: ")
        assert len(receiver.received["/card"]) == 1
    finally:
        receiver.stop()


def test_answers_never_show_the_password() -> None:
    shown = hook(config={"auth": AUTH, "channel": "web"}).public()
    assert shown["config"] == {"auth": {"auth_type": "basic", "username": "shop"}, "channel": "web"}
    assert "pw" not in str(shown)


def test_an_auth_without_password_keeps_the_stored_one_or_is_refused() -> None:
    stored = hook(config={"auth": AUTH})
    patch = HookPatch.model_validate({"config": {"auth": {"auth_type": "basic", "username": "other"}}})
    changed = stored.changed(patch)
    assert changed.config.auth == BasicAuth(auth_type="basic", username="other", password="pw")
    with pytest.raises(MissingPassword):
        hook().changed(patch)
    removed = stored.changed(HookPatch.model_validate({"config": None}))
    assert removed.config == HookConfig()


def test_an_empty_or_null_auth_is_no_auth_as_in_whisperer() -> None:
    assert HookConfig.model_validate({"auth": {}}).auth is None
    assert HookConfig.model_validate({"auth": None, "x": 1}).model_dump() == {"x": 1}


def test_read_only_fields_are_what_answers_show_beyond_the_writable_ones() -> None:
    assert (
        HookPatch.read_only
        == HookIn.read_only
        == {
            "id",
            "secret_key_set",
            "created_date",
            "modified_date",
            "disabled_reason",
            "disabled_at",
            "public_key",
        }
    )
    patch = HookPatch.model_validate({"id": "anything", "secret_key_set": 5, "is_active": False})
    assert patch.model_fields_set == {"is_active"}
    with pytest.raises(ValidationError):
        HookPatch.model_validate({"owner": "x"})
