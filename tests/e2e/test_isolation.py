"""End to end on the local stack: owner A's hooks that cannot be sent never touch owner B's delivery.

A's hooks are written straight into the stack's hooks table, as hooks stored before today's write-time
validation would be in a deployed table; B subscribes through the API. One event goes through the bus, the
dispatcher, the retry queue and the retrier as deployed, with real receivers.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import requests
from pydantic import TypeAdapter

from oms_webhooks.adapters.hook_store import HookStore
from oms_webhooks.domain.hooks import Hook, now
from oms_webhooks.domain.retry_countdown import RetryCountdownConfig
from oms_webhooks_cli.endpoint import Target
from tests.e2e.conftest import Client, LocalStackProcess
from tests.receiver import Receiver

EVENT_TYPE = "transfer.status.created"  # no other end-to-end test publishes it
ONE_QUICK_RETRY = {"choice": "fixed", "kwargs": {"seconds": 1}, "max_retries": 1}
BROKEN: dict[str, tuple[dict[str, Any], str]] = {
    "/header": ({"additional_headers": {"X-Shop": "日本"}}, "header X-Shop value is not sendable"),
    "/empty-secret": ({"secret_key": "whsec_"}, "secret_key cannot sign"),
    "/undecodable-secret": ({"secret_key": "whsec_A"}, "secret_key cannot sign"),
}


def owner_client(stack: LocalStackProcess, owner: str) -> Client:
    """A client acting as `owner`, a name this test knows (to write that owner's hooks into the table)."""
    client = Client(stack, requests.Session())
    client.token = stack.token(owner)
    client.http.headers["Authorization"] = f"Token {client.token}"
    return client


def store_legacy_hook(store: HookStore, owner: str, url: str, **fields: Any) -> Hook:
    moment = now()
    hook = Hook.model_construct(
        id=store.next_id(),
        owner=owner,
        event_type=EVENT_TYPE,
        target_url=url,
        retry_countdown_config=TypeAdapter(RetryCountdownConfig).validate_python(ONE_QUICK_RETRY),
        created_date=moment,
        modified_date=moment,
        **fields,
    )
    store.add(hook)
    return hook


def parked_events(stack: LocalStackProcess) -> set[str]:
    """Event ids in DispatchFailedQueue, peeked at (visibility 0) so other tests still see them."""
    sqs = Target(stack.outputs, stack.aws_endpoint).client("sqs")
    found: set[str] = set()
    for _ in range(5):
        answer = sqs.receive_message(
            QueueUrl=stack.outputs["DispatchFailedQueueUrl"], MaxNumberOfMessages=10, VisibilityTimeout=0
        )
        found.update(json.loads(m["Body"])["requestPayload"].get("id", "") for m in answer.get("Messages", []))
    return found


def test_hooks_that_cannot_be_sent_never_touch_another_owners_delivery(
    local_stack: LocalStackProcess, client: Client, receiver: Receiver
) -> None:
    owner_a = f"owner-a-{uuid.uuid4().hex[:10]}"
    a = owner_client(local_stack, owner_a)
    store = HookStore(local_stack.outputs["HooksTableName"], Target({}, local_stack.aws_endpoint).client("dynamodb"))
    broken = {
        path: store_legacy_hook(store, owner_a, receiver.url(path), **fields) for path, (fields, _) in BROKEN.items()
    }
    try:
        healthy = client.subscribe(receiver.script("/b"), event_type=EVENT_TYPE)
        event_id = client.publish(EVENT_TYPE, {"id": 231, "number": "T-231"})

        delivered = client.wait_for_delivery(healthy["id"], lambda d: d["delivered"], timeout=60)
        assert delivered["retry_count"] == 1 and [x["status_code"] for x in delivered["attempts"]] == [200]
        for path, hook in broken.items():
            ended = a.wait_for_delivery(hook.id, lambda d: d["status"] == "failed", timeout=60)
            reason = ended["response_content"]
            assert reason.startswith("Not sent: ") and BROKEN[path][1] in reason, reason
            assert ended["response_http_status"] == 500 and ended["retry_count"] == 2  # the first try and one retry
            assert [(x["status_code"], x["error"]) for x in ended["attempts"]] == [(None, reason)] * 2
            assert receiver.received[path] == []
        assert len(receiver.received["/b"]) == 1  # once: the dispatch succeeded, so nothing ran it again
        assert json.loads(receiver.received["/b"][0].body)["event"]["uuid"] == delivered["uuid"]
        assert {d["webhook"]["id"] for d in a.deliveries(response_http_status=500)} == {h.id for h in broken.values()}

        undecodable = a.deliveries(webhook=broken["/undecodable-secret"].id)[0]
        retried = a.http.post(a.url(f"hook_events/{undecodable['uuid']}/retry/"), json={"force": True})
        assert retried.status_code == 406, retried.text
        assert retried.json()["response_status"] == 500 and retried.json()["delivered"] is False
        assert retried.json()["response_content"].startswith("Not sent: secret_key cannot sign")
        assert a.delivery(undecodable["uuid"])["retry_count"] == 3  # a manual retry counts, as in whisperer

        assert event_id not in parked_events(local_stack)
    finally:
        for hook in broken.values():
            store.delete(hook)
