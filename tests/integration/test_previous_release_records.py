"""Delivery records written by the previous release stay readable, through everything the API offers on them.

The items in previous_release_deliveries.json are exactly what main at 49fff1f wrote (its own DeliveryStore and
attempt path, captured from moto): one delivered at its first attempt, one failed after two attempts, one parked by an
open circuit. Each test puts them in the table under an owner and a hook of its own (the only attributes changed) and
reads them as a client would: the log and its filters, one by integer id or uuid, stats, recovery, parking, and a
manual retry, which writes the record anew in today's shape without losing what it held.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from oms_webhooks.adapters.aws import dynamodb
from oms_webhooks.adapters.circuit_store import CircuitStore
from oms_webhooks.adapters.delivery_index import DeliveryIndex
from oms_webhooks.adapters.delivery_store import PREVIOUS_OWNER_INDEX, DeliveryStore
from oms_webhooks.adapters.hook_store import HookStore
from oms_webhooks.adapters.queues import RetryQueue
from oms_webhooks.adapters.tokens import TokenStore
from oms_webhooks.clock import SimulatedClock, iso, use_clock
from oms_webhooks.domain.deliveries import request_body
from oms_webhooks.rules.hook_stats import HookStats
from oms_webhooks.rules.parking import Parking
from oms_webhooks.rules.recovery import RecoverRequest, Recovery
from oms_webhooks.settings import settings
from oms_webhooks_cli.local.lambdas import LocalFunction
from tests.conftest import Caller
from tests.integration.support import unsubscribe_all
from tests.previous_release import previous_template
from tests.receiver import Answer, Receiver

CAPTURED = json.loads((Path(__file__).with_name("previous_release_deliveries.json")).read_text())["items"]
EVENT_TYPE = "transfer.status.ready_to_shipment"
SECRET = "s3cr3t-previous"


@dataclass
class Owner:
    name: str
    token: str
    call: Caller
    hook: dict[str, Any]
    items: dict[str, dict[str, Any]]  # status -> the item as put

    def ok(self, path: str, **query: Any) -> Any:
        suffix = "?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else ""
        answer = self.call("GET", f"/whisperer/{path}{suffix}", token=self.token)
        assert answer.status == 200, answer.body
        return answer.json()

    def uuids(self, **query: Any) -> set[str]:
        return {d["uuid"] for d in self.ok("hook_events/", **query)["results"]}


@pytest.fixture
def owner(deployed: dict[str, LocalFunction], call: Caller, receiver: Receiver) -> Iterator[Owner]:
    """An owner with one hook, and the previous release's three records made theirs."""
    name = f"owner-{uuid.uuid4().hex[:12]}"
    token = TokenStore(settings().tokens_table).create(name)
    target = receiver.script(f"/previous/{name}", Answer(200, b"welcome back"))
    body = {"target_url": target, "event_type": EVENT_TYPE, "secret_key": SECRET}
    created = call("POST", "/whisperer/hooks/", body, token=token)
    assert created.status == 201, created.body
    hook = created.json()
    items = {}
    for captured in CAPTURED:
        item = {**captured, "owner": {"S": name}, "webhook": {"N": str(hook["id"])}}
        if "parked" in item:
            item["parked"] = {"S": str(hook["id"])}
        dynamodb().put_item(TableName=settings().deliveries_table, Item=item)
        items[item["status"]["S"]] = item
    yield Owner(name, token, call, hook, items)
    unsubscribe_all(name)  # other tests count this type's hooks


def shown(item: dict[str, Any]) -> dict[str, Any]:
    """What the previous release's record says, in the answer's terms, read straight off the item."""
    attempts = json.loads(item["attempts"]["S"])
    return {
        "id": int(item["id"]["N"]),
        "uuid": item["uuid"]["S"],
        "event_type": item["event_type"]["S"],
        "request_payload": {  # the body sent: whisperer's envelope around the payload
            "event": {"type": item["event_type"]["S"], "uuid": item["uuid"]["S"]},
            "payload": json.loads(item["request_payload"]["S"]),
        },
        "response_http_status": int(item["response_http_status"]["N"]),
        "response_content": item["response_content"]["S"],
        "delivered": item["delivered"]["BOOL"],
        "retry_count": int(item["retry_count"]["N"]),
        "status": item["status"]["S"],
        "created_date": iso(datetime.fromisoformat(item["created_date"]["S"])),
        "modified_date": iso(datetime.fromisoformat(item["modified_date"]["S"])),
        "attempts": [(a["at"], a["status_code"], a["error"], a["request_headers"]) for a in attempts],
        "deferral_count": int(item.get("deferral_count", {}).get("N", "0")),
        "parked": "parked" in item,
    }


def answered(delivery: dict[str, Any]) -> dict[str, Any]:
    picked = {key: delivery[key] for key in shown(CAPTURED[0]) if key != "attempts"}
    picked["attempts"] = [(a["at"], a["status_code"], a["error"], a["request_headers"]) for a in delivery["attempts"]]
    return picked


def test_the_log_lists_them_filters_them_and_finds_each_by_id_and_uuid(owner: Owner) -> None:
    listed = {d["uuid"]: d for d in owner.ok("hook_events/")["results"]}
    assert set(listed) == {item["uuid"]["S"] for item in owner.items.values()}
    for item in owner.items.values():
        expected = shown(item)
        assert answered(listed[item["uuid"]["S"]]) == expected
        assert answered(owner.ok(f"hook_events/{expected['id']}/")) == expected
        assert answered(owner.ok(f"hook_events/{expected['uuid']}/")) == expected
    # The request headers of each attempt, signatures included, as the previous release recorded them.
    assert listed[owner.items["delivered"]["uuid"]["S"]]["attempts"][0]["request_headers"]["X-Whisperer-Signature"]
    delivered, failed, deferred = (owner.items[s]["uuid"]["S"] for s in ("delivered", "failed", "deferred"))
    assert owner.uuids(delivered="true") == {delivered}
    assert owner.uuids(delivered="false") == {failed, deferred}
    assert owner.uuids(status="failed") == {failed}
    assert owner.uuids(response_http_status=500) == {failed, deferred}
    assert owner.uuids(webhook=owner.hook["id"], object_id=276) == {delivered, failed, deferred}
    assert owner.uuids(event_type="Transfer.Status.Ready_To_Shipment", uuid=failed) == {failed}
    created = datetime.fromisoformat(owner.items["delivered"]["created_date"]["S"])
    assert owner.uuids(created_date__lte=iso(created)) == {delivered}
    assert listed[delivered]["webhook"] == owner.ok(f"hooks/{owner.hook['id']}/")  # the hook, nested


def test_stats_recovery_and_parking_read_them(owner: Owner) -> None:
    config = settings()
    index, hooks = DeliveryIndex(config.deliveries_table), HookStore(config.hooks_table)
    hook_id = owner.hook["id"]
    created = datetime.fromisoformat(owner.items["delivered"]["created_date"]["S"])
    previous = use_clock(SimulatedClock(created + timedelta(hours=1)))
    try:
        stats = HookStats(index, hooks).stats(owner.name, hook_id, "24h")
        assert stats["deliveries"] == {"delivered": 1, "retrying": 0, "failed": 1, "pending": 0, "deferred": 1}
        assert stats["attempts"] == {"total": 4, "succeeded": 1, "failed": 3}
        parking = Parking(index, RetryQueue(config.retry_queue_url), CircuitStore(config.hooks_table))
        assert parking.oldest(hook_id) == owner.items["deferred"]["uuid"]["S"]
        request = RecoverRequest.model_validate({"since": iso(created - timedelta(minutes=1))})
        report = Recovery(index, hooks, RetryQueue(config.retry_queue_url)).recover_hook(owner.name, hook_id, request)
        assert report.queued == 1  # the failed one
    finally:
        use_clock(previous)
    failed = DeliveryStore(config.deliveries_table).get(owner.items["failed"]["uuid"]["S"])
    assert failed.status == "retrying" and len(failed.attempts) == 2


def test_a_manual_retry_writes_one_anew_keeping_what_it_held(owner: Owner, receiver: Receiver) -> None:
    item = owner.items["failed"]
    before = shown(item)
    answer = owner.call("POST", f"/whisperer/hook_events/{before['id']}/retry/", token=owner.token)
    assert answer.status == 200, answer.body
    [sent] = receiver.received[f"/previous/{owner.name}"]
    # The same bytes as the previous release sent (its payload, kept in the record), signed with the hook's secret.
    payload = json.loads(item["request_payload"]["S"])
    assert sent.body == request_body(EVENT_TYPE, before["uuid"], payload)
    signature = hmac.new(SECRET.encode(), sent.body, hashlib.sha256).hexdigest()
    assert sent.headers["X-Whisperer-Signature"] == f"sha256={signature}"
    stored = dynamodb().get_item(TableName=settings().deliveries_table, Key={"uuid": item["uuid"]})
    assert "detail" in stored["Item"] and "attempts" not in stored["Item"]  # today's shape now
    after = owner.ok(f"hook_events/{before['id']}/")
    assert after["status"] == "delivered" and after["retry_count"] == 3
    assert after["request_payload"] == before["request_payload"]
    assert [a[:3] for a in answered(after)["attempts"][:2]] == [a[:3] for a in before["attempts"]]
    assert [a["request_headers"] for a in after["attempts"][:2]] == [a[3] for a in before["attempts"]]
    assert after["attempts"][2]["manual"] is True and after["response_content"] == "welcome back"


def test_during_the_upgrade_the_log_is_read_from_the_previous_releases_index(
    deployed: dict[str, LocalFunction], tmp_path: Path
) -> None:
    """The upgrade's first deploy creates ByOwnerLog, which DynamoDB fills for as long as the table takes and refuses
    to read meanwhile; CloudFormation does not wait. With KeepPreviousOwnerIndex the functions read the owner's log
    from ByOwner instead (tests/unit/test_upgrade_steps.py). Here, a deliveries table made from the previous release's
    own template, so no ByOwnerLog at all: its records, and one today's code writes there, are listed, filtered, paged
    and found for recovery through ByOwner, and a store reading ByOwnerLog is refused."""
    definition = previous_template(tmp_path).tables()["DeliveriesTable"]
    definition.pop("_ttl", None)
    table = f"previous-deliveries-{uuid.uuid4().hex[:8]}"
    dynamodb().create_table(**{**definition, "TableName": table})
    try:
        name = f"owner-{uuid.uuid4().hex[:12]}"
        for captured in CAPTURED:
            dynamodb().put_item(TableName=table, Item={**captured, "owner": {"S": name}})
        store = DeliveryStore(table, owner_index=PREVIOUS_OWNER_INDEX)
        delivered, failed, deferred = (item["uuid"]["S"] for item in CAPTURED)
        written = store.get(delivered).model_copy(
            update={"uuid": uuid.uuid4().hex, "created_date": datetime.now(UTC), "event_id": "today"}
        )
        store.save_many([written])  # today's shape, as the new functions write during the fill
        assert "detail" in dynamodb().get_item(TableName=table, Key={"uuid": {"S": written.uuid}})["Item"]

        newest_first = [written.uuid, deferred, failed, delivered]
        assert [d.uuid for d in store.query_owner(name, {}, None, None, 10).items] == newest_first
        assert [d.uuid for d in store.query_owner(name, {"delivered": False}, None, None, 10).items] == [
            deferred,
            failed,
        ]
        first = store.query_owner(name, {}, None, None, 2)
        assert [d.uuid for d in first.items] == newest_first[:2] and first.older is not None
        rest = store.query_owner(name, {}, None, None, 2, after=first.older)
        assert [d.uuid for d in rest.items] == newest_first[2:]
        created = datetime.fromisoformat(CAPTURED[0]["created_date"]["S"])
        recoverable = DeliveryIndex(table, owner_index=PREVIOUS_OWNER_INDEX).recoverable(
            created - timedelta(minutes=1), datetime.now(UTC), ("failed", "retrying"), 10, owner=name
        )
        assert [c.uuid for c in recoverable] == [failed]

        with pytest.raises(ClientError):  # as a store reading a ByOwnerLog still being filled would be
            DeliveryStore(table).query_owner(name, {}, None, None, 10)
    finally:
        dynamodb().delete_table(TableName=table)
