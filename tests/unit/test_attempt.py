"""One attempt of one delivery against a real receiver on 127.0.0.1: a hook that cannot be sent is that attempt's
failure, recorded with a reason its owner can read (naming a secret, never showing it), and nothing reaches the
wire."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from oms_webhooks.adapters.address_guard import AddressPolicy
from oms_webhooks.adapters.sender import Sender, SendResult
from oms_webhooks.domain.deliveries import Delivery
from oms_webhooks.domain.hooks import HookTarget
from oms_webhooks.rules.attempt import attempt_delivery
from tests.receiver import Receiver

T0 = datetime(2026, 1, 7, 10, 0, tzinfo=UTC)


@pytest.fixture
def sender() -> Iterator[Sender]:
    sender = Sender(AddressPolicy(allow_loopback=True), connect_timeout=1, total_timeout=2)
    yield sender
    sender.pool.clear()


def stored_hook(url: str, **fields: Any) -> HookTarget:
    """As the dispatcher reads hooks from the table: not validated again, so as old as the table is."""
    values = {"id": 7, "owner": "a", "event_type": "package.created", "target_url": url}
    return HookTarget.model_construct(**{"additional_headers": {}, "secret_key": None, **values, **fields})


def fresh_delivery(url: str) -> Delivery:
    return Delivery(
        uuid="d" * 32,
        owner="a",
        webhook=7,
        event_id="e",
        event_type="package.created",
        request_payload={"id": 1},
        target_url=url,
        created_date=T0,
        modified_date=T0,
    )


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        (
            {"additional_headers": {"X-Shop": "日本"}},
            "header X-Shop value is not sendable (U+65E5 at position 0 is outside ISO-8859-1)",
        ),
        (
            {"additional_headers": {"X-Shop": "a\r\nX-Evil: 1"}},
            "header X-Shop value is not sendable (it contains a line break or control character)",
        ),
        ({"additional_headers": {"X-Count": 5}}, "header X-Count value is not sendable (it is not text)"),
        ({"additional_headers": {"X Shop": "1"}}, "header name 'X Shop' is not a valid HTTP field name"),
        (
            {"additional_headers": {"content-length": "0"}},
            "header content-length is set by the service and cannot be overridden",
        ),
        (
            {"secret_key": "whsec_"},
            "secret_key cannot sign: after whsec_ it must be the base64 of a non-empty key"
            " (a webhook secret must not be empty)",
        ),
        (
            {"secret_key": "whsec_A"},
            "secret_key cannot sign: after whsec_ it must be the base64 of a non-empty key"
            " (Invalid base64-encoded string: number of data characters (1) cannot be 1 more than a multiple of 4)",
        ),
        (
            {"secret_key": "whsec_sécrèt"},
            "secret_key cannot sign: after whsec_ it must be the base64 of a non-empty key"
            " (string argument should contain only ASCII characters)",
        ),
        ({"secret_key": "s\ud800cret"}, "secret_key cannot sign (it cannot be encoded as UTF-8)"),
    ],
    ids=[
        "header-outside-latin-1",
        "header-line-break",
        "header-not-text",
        "header-name-not-a-token",
        "reserved-header",
        "empty-whsec",
        "undecodable-whsec",
        "non-ascii-whsec",
        "secret-not-utf8",
    ],
)
def test_an_unsendable_hook_is_a_recorded_failed_attempt_with_its_reason(
    receiver: Receiver, sender: Sender, fields: dict[str, Any], reason: str
) -> None:
    path = f"/{uuid.uuid4().hex}"
    url = receiver.url(path)
    delivery = fresh_delivery(url)
    result = attempt_delivery(delivery, stored_hook(url, **fields), sender)

    assert result.status_code is None and result.error == f"Not sent: {reason}"
    [attempt] = delivery.attempts
    assert attempt.status_code is None and attempt.error == f"Not sent: {reason}"
    assert (delivery.response_http_status, delivery.response_content) == (500, f"Not sent: {reason}")
    assert delivery.retry_count == 1
    assert receiver.received[path] == []


def test_any_fault_of_the_sender_is_a_recorded_failed_attempt(receiver: Receiver) -> None:
    class Exploding(Sender):
        def post(self, url: str, body: bytes, headers: dict[str, str]) -> SendResult:
            raise KeyError("injected")

    url = receiver.url("/exploding")
    delivery = fresh_delivery(url)
    result = attempt_delivery(delivery, stored_hook(url), Exploding(AddressPolicy(allow_loopback=True)), manual=True)
    assert result.error == "Not sent: KeyError: 'injected'"
    assert delivery.attempts[0].manual is True and delivery.response_http_status == 500


def test_a_sendable_legacy_header_is_still_sent_as_before(receiver: Receiver, sender: Sender) -> None:
    """ISO-8859-1 text went out as such before any write-time rule; a stored hook keeps working."""
    url = receiver.url("/legacy")
    delivery = fresh_delivery(url)
    attempt_delivery(delivery, stored_hook(url, additional_headers={"X-City": "Zürich"}), sender)
    assert delivery.status == "delivered" and delivery.response_http_status == 200
    [request] = receiver.received["/legacy"]
    assert request.headers["X-City"] == "Zürich"  # http.server reads header bytes as ISO-8859-1
