"""Standard Webhooks in full, on the local stack with a real receiver: `webhook-id` and `webhook-timestamp` on every
delivery, signed or not (the id the same on every attempt, the timestamp each attempt's own), and asymmetric hooks
whose `v1a,` Ed25519 signatures verify from outside, with `cryptography` (OpenSSL), against the public key the API
shows, through a rotation's overlap."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from standardwebhooks.webhooks import Webhook

from tests.e2e.conftest import Client
from tests.receiver import Answer, Received, Receiver

SECRET = "whsec_c3RhbmRhcmQgd2ViaG9va3MgaW4gZnVsbA=="
ONE_SECOND = {"choice": "fixed", "kwargs": {"seconds": 1}, "max_retries": 3}


def headers_of(request: Received) -> dict[str, str]:
    return {name.lower(): value for name, value in request.headers.items()}


def public_key(text: str) -> Ed25519PublicKey:
    assert text.startswith("whpk_")
    raw = base64.b64decode(text.removeprefix("whpk_"), validate=True)
    assert len(raw) == 32
    return Ed25519PublicKey.from_public_bytes(raw)


def v1a_signatures(request: Received) -> list[bytes]:
    entries = headers_of(request)["webhook-signature"].split(" ")
    return [base64.b64decode(sig) for version, sig in (e.split(",", 1) for e in entries) if version == "v1a"]


def verifies(key: Ed25519PublicKey, request: Received) -> bool:
    """As a receiver checks a `v1a` signature: over `id.timestamp.body`, any of the header's entries."""
    headers = headers_of(request)
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + request.body
    for signature in v1a_signatures(request):
        try:
            key.verify(signature, signed)
            return True
        except InvalidSignature:
            continue
    return False


def test_an_unsigned_delivery_carries_its_id_and_each_attempts_timestamp(client: Client, receiver: Receiver) -> None:
    url = receiver.script("/unsigned", Answer(503), Answer(200))
    hook = client.subscribe(url, "package.status.cancelled", retry_countdown_config=ONE_SECOND)
    assert hook["secret_key_set"] is False and hook["signature_scheme"] == "symmetric" and hook["public_key"] is None
    client.publish("package.status.cancelled", {"id": 5})

    first, second = receiver.wait_for("/unsigned", 2, timeout=30)[:2]
    uuid = json.loads(first.body)["event"]["uuid"]
    for request in (first, second):
        headers = headers_of(request)
        assert headers["webhook-id"] == uuid  # the receiver's idempotency key, the same on the retry
        assert abs(int(headers["webhook-timestamp"]) - request.at) < 5
        assert "webhook-signature" not in headers and "x-whisperer-signature" not in headers
    assert int(headers_of(second)["webhook-timestamp"]) > int(headers_of(first)["webhook-timestamp"])
    delivery = client.wait_for_delivery(hook["id"], lambda d: d["delivered"])
    assert [a["request_headers"]["webhook-id"] for a in delivery["attempts"]] == [uuid, uuid]


def test_an_asymmetric_hook_is_verified_from_outside_with_its_public_key(client: Client, receiver: Receiver) -> None:
    url = receiver.script("/asymmetric")
    hook = client.subscribe(url, "shipment.status.updated", signature_scheme="asymmetric", secret_key=SECRET)
    key = public_key(hook["public_key"])
    shown = client.http.get(client.url(f"hooks/{hook['id']}/")).text
    assert "whsk_" not in shown and hook["public_key"] in shown
    client.publish("shipment.status.updated", {"id": 9})

    [request] = receiver.wait_for("/asymmetric", 1, timeout=30)
    assert verifies(key, request)
    assert len(v1a_signatures(request)) == 1
    Webhook(SECRET).verify(request.body, request.headers)  # its v1 signature too, beside the v1a one
    tampered = Received(request.at, request.path, request.headers, request.body.replace(b'"id":9', b'"id":8'))
    assert not verifies(key, tampered)


def test_rotating_an_asymmetric_hooks_key_keeps_the_old_one_signing_for_the_overlap(
    client: Client, receiver: Receiver
) -> None:
    url = receiver.script("/rotated")
    hook = client.subscribe(url, "stock_location.created", signature_scheme="asymmetric")
    old = public_key(hook["public_key"])
    answer = client.http.post(client.url(f"hooks/{hook['id']}/rotate_secret/"), json={"overlap_seconds": 3600})
    assert answer.status_code == 200, answer.text
    rotated: dict[str, Any] = answer.json()
    assert "whsk_" not in answer.text and "secret_key" not in rotated
    assert rotated["previous_signing_key_expires_at"] is not None
    new_text = rotated["hook"]["public_key"]
    assert new_text != hook["public_key"] and rotated["hook"]["secret_key_set"] is False
    client.publish("stock_location.created", {"id": 1})
    [during] = receiver.wait_for("/rotated", 1, timeout=30)
    assert len(v1a_signatures(during)) == 2
    assert verifies(old, during) and verifies(public_key(new_text), during)

    ended = client.http.post(client.url(f"hooks/{hook['id']}/rotate_secret/"), json={"overlap_seconds": 0}).json()
    assert ended["previous_signing_key_expires_at"] is None
    client.publish("stock_location.created", {"id": 2})
    after = receiver.wait_for("/rotated", 2, timeout=30)[1]
    assert v1a_signatures(after) and verifies(public_key(ended["hook"]["public_key"]), after)
    assert not verifies(public_key(new_text), after) and not verifies(old, after)


@pytest.mark.parametrize("value", ["Asymmetric", "ed25519", 1, [], {"x": 1}, ""])
def test_another_scheme_is_a_400_naming_the_field(client: Client, value: object) -> None:
    answer = client.http.post(
        client.url("hooks/"),
        json={"event_type": "package.created", "target_url": "http://127.0.0.1:9/x", "signature_scheme": value},
    )
    assert answer.status_code == 400 and list(answer.json()) == ["signature_scheme"], answer.text


def test_back_to_symmetric_drops_the_key_pair(client: Client, receiver: Receiver) -> None:
    hook = client.subscribe(receiver.script("/back"), "shipment.created", signature_scheme="asymmetric")
    assert hook["public_key"].startswith("whpk_")
    changed = client.http.patch(client.url(f"hooks/{hook['id']}/"), json={"signature_scheme": None}).json()
    assert (changed["signature_scheme"], changed["public_key"]) == ("symmetric", None)
    again = client.http.patch(client.url(f"hooks/{hook['id']}/"), json={"signature_scheme": "asymmetric"}).json()
    assert again["public_key"].startswith("whpk_") and again["public_key"] != hook["public_key"]
    client.publish("shipment.created", {"id": 3})
    [request] = receiver.wait_for("/back", 1, timeout=30)
    assert verifies(public_key(again["public_key"]), request) and not verifies(public_key(hook["public_key"]), request)
