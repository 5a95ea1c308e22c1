"""The self-service routes in-process on moto with real receivers: secret rotation, test events, recovery, stats,
the event catalog; owner scoping, field errors, and every delivery path signing with both secrets in an overlap."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

import self_service_schema
from oms_webhooks.adapters.address_guard import AddressPolicy
from oms_webhooks.adapters.aws import dynamodb, sqs
from oms_webhooks.adapters.delivery_index import DeliveryIndex
from oms_webhooks.adapters.delivery_store import DeliveryStore
from oms_webhooks.adapters.hook_store import HookStore, hook_sk
from oms_webhooks.adapters.queues import RETRY_QUEUE_MESSAGE, FanoutBatch, RetryMessage, RetryQueue
from oms_webhooks.adapters.sender import Sender
from oms_webhooks.adapters.tokens import TokenStore
from oms_webhooks.domain.deliveries import Attempt, Delivery, delivery_id
from oms_webhooks.domain.event_catalog import example_payload
from oms_webhooks.domain.oms_event import OmsEvent
from oms_webhooks.domain.operational_events import OPERATIONAL_EVENT_TYPES
from oms_webhooks.rules import retrier as retrier_rules
from oms_webhooks.rules.delivery_log import DeliveryLog
from oms_webhooks.rules.recovery import RecoverRequest, Recovery
from oms_webhooks.rules.retrier import Retrier
from oms_webhooks.settings import settings
from tests.conftest import Answer as ApiAnswer
from tests.conftest import Caller
from tests.integration.support import dispatcher
from tests.openapi_answers import assert_documented
from tests.receiver import Answer, Received, Receiver

EVENT_TYPE = "package.status.packed_for_refund"  # no other integration test publishes it
OLD_SECRET = "whsec_" + base64.b64encode(b"the old secret, 24 bytes").decode()


@dataclass
class Owner:
    name: str
    call: Caller  # the API as this owner (its token)


@pytest.fixture
def me(call: Caller) -> Iterator[Owner]:
    """An owner of its own; the hooks it made are deleted afterwards so later events reach no dead receiver."""
    name = f"owner-{uuid.uuid4().hex[:12]}"
    token = TokenStore(settings().tokens_table).create(name)

    def as_me(method: str, path: str, body: Any = None, **options: Any) -> ApiAnswer:
        return call(method, path, body, **{"token": token, **options})

    yield Owner(name, as_me)
    for hook in as_me("GET", "/whisperer/hooks/?limit=500").json()["results"]:
        as_me("DELETE", f"/whisperer/hooks/{hook['id']}/")


def subscribe(me: Owner, url: str, **fields: Any) -> dict[str, Any]:
    answer = me.call("POST", "/whisperer/hooks/", {"event_type": EVENT_TYPE, "target_url": url, **fields})
    assert answer.status == 201, answer.body
    return dict(answer.json())


def raw_hook(me: Owner, hook_id: int) -> dict[str, Any]:
    """The hook's item as stored (what only the service itself reads)."""
    answer = dynamodb().get_item(
        TableName=settings().hooks_table,
        Key={"owner": {"S": me.name}, "sk": {"S": hook_sk(hook_id)}},
        ConsistentRead=True,
    )
    return dict(answer["Item"])


def verify_standard(request: Received, secret: str) -> None:
    """The official Standard Webhooks verifier, as a subscriber runs it; raises if the delivery does not verify."""
    Webhook(secret).verify(request.body, request.headers)


def whisperer_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# --- secret rotation ------------------------------------------------------------------------------------------------


def test_rotation_generates_a_secret_shown_once_and_both_sign_during_the_overlap(me: Owner, receiver: Receiver) -> None:
    hook = subscribe(me, receiver.url("/rotated"), secret_key=OLD_SECRET)
    before = datetime.now(UTC)
    answer = me.call("POST", f"/whisperer/hooks/{hook['id']}/rotate_secret/", {"overlap_seconds": 600})
    assert answer.status == 200, answer.body
    rotated = answer.json()
    assert_documented(rotated, "RotatedSecret")
    new_secret = rotated["secret_key"]
    assert new_secret.startswith("whsec_") and len(base64.b64decode(new_secret[6:])) == 24
    expires = datetime.fromisoformat(rotated["previous_secret_expires_at"].replace("Z", "+00:00"))
    assert before + timedelta(seconds=599) <= expires <= datetime.now(UTC) + timedelta(seconds=601)
    assert rotated["hook"]["secret_key_set"] is True
    shown = me.call("GET", f"/whisperer/hooks/{hook['id']}/").body.decode()
    assert new_secret not in shown and OLD_SECRET not in shown and "previous" not in shown

    test = me.call("POST", f"/whisperer/hooks/{hook['id']}/test/")
    assert test.status == 200, test.body
    [request] = receiver.wait_for("/rotated", 1)
    signatures = request.headers["webhook-signature"].split(" ")
    assert len(signatures) == 2 and all(s.startswith("v1,") for s in signatures)
    verify_standard(request, new_secret)
    verify_standard(request, OLD_SECRET)
    assert request.headers["X-Whisperer-Signature"] == whisperer_signature(new_secret, request.body)
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + base64.b64encode(b"some other secret").decode()).verify(request.body, request.headers)


def test_a_chosen_secret_is_not_echoed_and_the_same_secret_is_refused(me: Owner) -> None:
    hook = subscribe(me, "http://127.0.0.1:9/chosen", secret_key=OLD_SECRET)
    path = f"/whisperer/hooks/{hook['id']}/rotate_secret/"
    same = me.call("POST", path, {"secret_key": OLD_SECRET})
    assert same.status == 400 and same.json() == {"secret_key": ["The new secret must differ from the current one."]}
    chosen = me.call("POST", path, {"secret_key": "my-own-new-secret", "overlap_seconds": 0})
    assert chosen.status == 200, chosen.body
    assert "secret_key" not in chosen.json() and chosen.json()["previous_secret_expires_at"] is None
    item = raw_hook(me, hook["id"])
    assert item["secret_key"]["S"] == "my-own-new-secret" and "previous_secret_key" not in item


def test_rotating_a_hook_without_a_secret_gives_it_one_with_no_overlap(me: Owner) -> None:
    hook = subscribe(me, "http://127.0.0.1:9/unsigned")
    answer = me.call("POST", f"/whisperer/hooks/{hook['id']}/rotate_secret")  # no body, no slash
    assert answer.status == 200, answer.body
    assert answer.json()["secret_key"].startswith("whsec_")
    assert answer.json()["previous_secret_expires_at"] is None
    assert answer.json()["hook"]["secret_key_set"] is True


def test_the_old_secret_stops_signing_when_the_overlap_ends_and_leaves_storage(me: Owner, receiver: Receiver) -> None:
    hook = subscribe(me, receiver.url("/expiring"), secret_key=OLD_SECRET)
    rotated = me.call("POST", f"/whisperer/hooks/{hook['id']}/rotate_secret/", {"overlap_seconds": 1})
    new_secret = rotated.json()["secret_key"]
    item = raw_hook(me, hook["id"])
    assert item["previous_secret_key"]["S"] == OLD_SECRET  # kept, write-only, during the overlap
    assert json.loads(item["dispatch"]["S"])["psec"] == OLD_SECRET  # and in the dispatcher's projection

    expires = datetime.fromisoformat(rotated.json()["previous_secret_expires_at"].replace("Z", "+00:00"))
    deadline = time.monotonic() + 10
    while datetime.now(UTC) <= expires and time.monotonic() < deadline:
        time.sleep(0.05)  # the overlap is time itself: nothing to poll but the clock

    # The dispatcher's projection still names the old secret (no write since), but it no longer signs.
    report = dispatcher().dispatch(OmsEvent(str(uuid.uuid4()), EVENT_TYPE, example_payload(EVENT_TYPE)))
    assert report.delivered == 1
    [request] = receiver.wait_for("/expiring", 1)
    assert " " not in request.headers["webhook-signature"]
    verify_standard(request, new_secret)
    with pytest.raises(WebhookVerificationError):
        verify_standard(request, OLD_SECRET)

    assert me.call("GET", f"/whisperer/hooks/{hook['id']}/").status == 200  # a read removes it from storage
    item = raw_hook(me, hook["id"])
    assert "previous_secret_key" not in item and "previous_secret_expires_at" not in item
    assert "psec" not in json.loads(item["dispatch"]["S"])


def test_setting_the_secret_by_hand_ends_an_overlap_at_once(me: Owner) -> None:
    hook = subscribe(me, "http://127.0.0.1:9/by-hand", secret_key=OLD_SECRET)
    me.call("POST", f"/whisperer/hooks/{hook['id']}/rotate_secret/", {})
    assert "previous_secret_key" in raw_hook(me, hook["id"])
    patched = me.call("PATCH", f"/whisperer/hooks/{hook['id']}/", {"secret_key": "replaced-by-hand"})
    assert patched.status == 200
    item = raw_hook(me, hook["id"])
    assert item["secret_key"]["S"] == "replaced-by-hand" and "previous_secret_key" not in item


def test_every_delivery_path_signs_with_both_secrets_during_the_overlap(me: Owner, receiver: Receiver) -> None:
    """Dispatch, a fan-out batch, the retrier and a manual retry all read the hook their own way (the index's
    projection, a range of it, GetItem): each must carry the old secret to the signer."""
    config = {"choice": "fixed", "kwargs": {"seconds": 0}, "max_retries": 5}
    url = receiver.script("/paths", Answer(500), Answer(500), Answer(500), Answer(200))
    hook = subscribe(me, url, secret_key=OLD_SECRET, retry_countdown_config=config)
    new_secret = me.call("POST", f"/whisperer/hooks/{hook['id']}/rotate_secret/", {}).json()["secret_key"]
    store = DeliveryStore(settings().deliveries_table)
    hooks = HookStore(settings().hooks_table)

    event = OmsEvent(str(uuid.uuid4()), EVENT_TYPE, {"id": 1})
    dispatcher().dispatch(event)  # 1: dispatch (500)
    dispatcher().dispatch_batch(
        FanoutBatch(
            event_id=str(uuid.uuid4()),
            event_type=EVENT_TYPE,
            first_id=hook["id"],
            last_id=hook["id"],
            payload={"id": 2},
        )
    )  # 2
    queue = own_queue()
    retrier = Retrier(hooks, store, Sender(AddressPolicy(allow_loopback=True)), queue)
    first = store.get(delivery_id(event.id, hook["id"]))
    queue.schedule([RetryMessage(uuid=first.uuid)])
    [message] = sqs().receive_message(QueueUrl=queue.url, WaitTimeSeconds=5)["Messages"]
    report = retrier.process(
        retrier_rules.Received(RETRY_QUEUE_MESSAGE.validate_json(message["Body"]), message["ReceiptHandle"])
    )
    # 3: a retry
    assert report.sent and report.delivery is not None and report.delivery.status == "retrying"
    log = DeliveryLog(store, hooks, Sender(AddressPolicy(allow_loopback=True)))
    delivery, _ = log.retry(me.name, first.uuid, force=True)  # 4: a manual retry (200)
    assert delivery.delivered

    requests = receiver.wait_for("/paths", 4)
    assert len(requests) == 4
    for request in requests:
        assert len(request.headers["webhook-signature"].split(" ")) == 2
        verify_standard(request, new_secret)
        verify_standard(request, OLD_SECRET)
        assert request.headers["X-Whisperer-Signature"] == whisperer_signature(new_secret, request.body)


def own_queue() -> RetryQueue:
    """A retry queue of this test's own (on moto), so that no other test's messages are in it."""
    return RetryQueue(sqs().create_queue(QueueName=f"retries-{uuid.uuid4().hex[:12]}")["QueueUrl"])


# --- test events ----------------------------------------------------------------------------------------------------


def test_a_test_event_is_signed_sent_now_recorded_and_shaped_as_a_delivery(me: Owner, receiver: Receiver) -> None:
    hook = subscribe(me, receiver.script("/test-ok", Answer(204, b"")), secret_key=OLD_SECRET)
    answer = me.call("POST", f"/whisperer/hooks/{hook['id']}/test/", {})
    assert answer.status == 200, answer.body
    shown = answer.json()
    assert_documented(shown, "TrialDelivery")
    assert shown["test"] is True and shown["delivered"] and shown["status"] == "delivered"
    assert shown["event_type"] == "webhook.test" and shown["detail"].startswith("Delivered: HTTP 204")
    [request] = receiver.wait_for("/test-ok", 1)
    body = json.loads(request.body)
    assert body == {
        "event": {"type": "webhook.test", "uuid": shown["uuid"]},
        "payload": {
            "hook_id": hook["id"],
            "message": body["payload"]["message"],
            "example": example_payload(EVENT_TYPE),
        },
    }
    verify_standard(request, OLD_SECRET)
    assert request.headers["X-Whisperer-Event"] == "webhook.test"
    sent = shown["attempts"][-1]["request_headers"]
    assert sent["webhook-signature"] == request.headers["webhook-signature"]
    assert all(request.headers[name] == value for name, value in sent.items())  # exactly what was sent
    assert OLD_SECRET not in json.dumps(answer.json())

    logged = me.call("GET", f"/whisperer/hook_events/{shown['uuid']}/")
    assert logged.status == 200
    assert {k: v for k, v in answer.json().items() if k != "detail"} == logged.json()


def test_a_failed_test_event_is_406_and_never_retried(me: Owner, receiver: Receiver) -> None:
    hook = subscribe(me, receiver.script("/test-down", Answer(503, b"maintenance")))
    answer = me.call("POST", f"/whisperer/hooks/{hook['id']}/test/")
    assert answer.status == 406, answer.body
    body = answer.json()
    assert body["test"] is True and body["status"] == "failed" and body["next_attempt_at"] is None
    took = body["attempts"][-1]["duration"]
    assert body["detail"] == f"Not delivered: HTTP 503 (after {took:.3f} s)."
    assert body["response_content"] == "maintenance"
    since = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    recovered = me.call("POST", f"/whisperer/hooks/{hook['id']}/recover/", {"since": since})
    assert recovered.status == 202 and recovered.json()["queued"] == 0  # test deliveries are never re-sent
    assert len(receiver.received["/test-down"]) == 1


def test_a_test_event_to_an_unreachable_endpoint_says_why(me: Owner) -> None:
    hook = subscribe(me, "http://127.0.0.1:9/nothing-listens")
    answer = me.call("POST", f"/whisperer/hooks/{hook['id']}/test/")
    assert answer.status == 406
    assert answer.json()["attempts"][-1]["status_code"] is None  # no answer (the log shows 500, as whisperer did)
    assert answer.json()["detail"].startswith("Not delivered: ") and "HTTP" not in answer.json()["detail"]


# --- recovery -------------------------------------------------------------------------------------------------------


def stored(owner: str, hook_id: int, status: str, age: timedelta, **fields: Any) -> Delivery:
    """A delivery record as dispatch and the retrier leave it, created `age` ago."""
    moment = datetime.now(UTC) - age
    delivery = Delivery(
        uuid=delivery_id(uuid.uuid4().hex, hook_id),
        owner=owner,
        webhook=hook_id,
        event_id=uuid.uuid4().hex,
        event_type=fields.pop("event_type", EVENT_TYPE),
        request_payload={"id": 1},
        target_url="http://127.0.0.1:9/",
        created_date=moment,
        modified_date=moment,
        **fields,
    )
    for attempt in fields.get("attempts", []) or [Attempt(at=moment, status_code=500, duration=0.1)]:
        if not delivery.attempts:
            delivery.record(attempt, "boom")
    delivery.status = status  # type: ignore[assignment]
    if status == "retrying":
        delivery.next_attempt_at = datetime.now(UTC) + timedelta(hours=1)
    DeliveryStore(settings().deliveries_table).save(delivery)
    return delivery


def test_recover_queues_each_failed_delivery_of_the_window_once_and_the_retrier_sends_it(
    me: Owner, receiver: Receiver, retrier_running: None
) -> None:
    hook = subscribe(
        me,
        receiver.url("/recovered"),
        retry_countdown_config={"choice": "fixed", "kwargs": {"seconds": 0}, "max_retries": 0},
    )
    failed = [stored(me.name, hook["id"], "failed", timedelta(minutes=m)) for m in (10, 20, 30)]
    old = stored(me.name, hook["id"], "failed", timedelta(days=2))  # outside the window
    retrying = stored(me.name, hook["id"], "retrying", timedelta(minutes=5))
    done = stored(me.name, hook["id"], "delivered", timedelta(minutes=5))
    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()

    first = me.call("POST", f"/whisperer/hooks/{hook['id']}/recover/", {"since": since})
    assert first.status == 202, first.body
    self_service_schema.Recovered.model_validate(first.json(), strict=True)
    assert first.json()["queued"] == 3
    again = me.call("POST", f"/whisperer/hooks/{hook['id']}/recover/", {"since": since})
    assert again.json()["queued"] == 0  # queued already, and not sent yet or just sent: nothing twice

    requests = receiver.wait_for("/recovered", 3, timeout=20)
    uuids = sorted(json.loads(r.body)["event"]["uuid"] for r in requests)
    assert uuids == sorted(d.uuid for d in failed)
    store = DeliveryStore(settings().deliveries_table)
    deadline = time.monotonic() + 10
    while not all(store.get(d.uuid).delivered for d in failed) and time.monotonic() < deadline:
        time.sleep(0.1)
    for delivery in failed:
        record = store.get(delivery.uuid)
        assert record.status == "delivered" and len(record.attempts) == 2
    assert store.get(old.uuid).status == "failed" and store.get(retrying.uuid).status == "retrying"
    assert store.get(done.uuid).status == "delivered"
    third = me.call("POST", f"/whisperer/hooks/{hook['id']}/recover/", {"since": since})
    assert third.json()["queued"] == 0
    time.sleep(0.5)  # nothing more may arrive; there is no condition to poll for an absence
    assert len(receiver.received["/recovered"]) == 3


def test_recover_with_retrying_ones_marks_them_once(me: Owner) -> None:
    hook = subscribe(me, "http://127.0.0.1:9/later")
    retrying = stored(me.name, hook["id"], "retrying", timedelta(minutes=5))
    failed = stored(me.name, hook["id"], "failed", timedelta(minutes=5))
    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    body = {"since": since, "include_retrying": True}
    with RetryQueueWatch() as queue:
        first = me.call("POST", f"/whisperer/hooks/{hook['id']}/recover/", body)
        assert first.json()["queued"] == 2
        assert me.call("POST", f"/whisperer/hooks/{hook['id']}/recover/", body).json()["queued"] == 0
        assert queue.uuids_sent() == sorted([retrying.uuid, failed.uuid])
    record = DeliveryStore(settings().deliveries_table).get(retrying.uuid)
    assert record.status == "retrying" and record.next_attempt_at is not None
    assert record.next_attempt_at <= datetime.now(UTC)  # due now


class RetryQueueWatch:
    """The retry queue's SendMessageBatch calls made meanwhile, seen on the botocore client (nothing is faked)."""

    def __enter__(self) -> RetryQueueWatch:
        from oms_webhooks.adapters.aws import sqs

        self.sent: list[str] = []
        self.client = sqs()
        self.client.meta.events.register("provide-client-params.sqs.SendMessageBatch", self._record)
        return self

    def _record(self, params: dict[str, Any], **_: Any) -> None:
        self.sent.extend(json.loads(entry["MessageBody"])["uuid"] for entry in params["Entries"])

    def uuids_sent(self) -> list[str]:
        return sorted(self.sent)

    def __exit__(self, *_: object) -> None:
        self.client.meta.events.unregister("provide-client-params.sqs.SendMessageBatch", self._record)


def test_owner_recovery_covers_every_active_hook_and_filters_by_event_type(me: Owner) -> None:
    first = subscribe(me, "http://127.0.0.1:9/a")
    second = subscribe(me, "http://127.0.0.1:9/b")
    inactive = subscribe(me, "http://127.0.0.1:9/c", is_active=False)
    a = stored(me.name, first["id"], "failed", timedelta(minutes=1))
    b = stored(me.name, second["id"], "failed", timedelta(minutes=1), event_type="shipment.created")
    stored(me.name, inactive["id"], "failed", timedelta(minutes=1))
    stored(me.name, 10**11, "failed", timedelta(minutes=1))  # a deleted hook's
    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    with RetryQueueWatch() as queue:
        typed = me.call("POST", "/whisperer/hook_events/recover/", {"since": since, "event_type": "shipment-created"})
        assert typed.status == 202 and typed.json()["queued"] == 1
        rest = me.call("POST", "/whisperer/hook_events/recover", {"since": since})
        assert rest.json()["queued"] == 1
        assert queue.uuids_sent() == sorted([a.uuid, b.uuid])


def test_recovering_an_inactive_hook_is_refused(me: Owner) -> None:
    hook = subscribe(me, "http://127.0.0.1:9/off", is_active=False)
    answer = me.call("POST", f"/whisperer/hooks/{hook['id']}/recover/", {"since": "2024-01-01T00:00:00Z"})
    assert answer.status == 400 and list(answer.json()) == ["is_active"]


# --- stats ----------------------------------------------------------------------------------------------------------


def test_stats_count_outcomes_latency_and_a_series_from_the_index(me: Owner) -> None:
    hook = subscribe(me, "http://127.0.0.1:9/stats")
    now = datetime.now(UTC)
    ok = [Attempt(at=now - timedelta(hours=2), status_code=200, duration=d) for d in (0.010, 0.020, 0.030)]
    for attempt in ok:
        stored(me.name, hook["id"], "delivered", timedelta(hours=2), attempts=[attempt])
    bad = Attempt(at=now - timedelta(minutes=30), status_code=500, duration=0.5)
    stored(me.name, hook["id"], "retrying", timedelta(minutes=30), attempts=[bad])
    stored(me.name, hook["id"], "failed", timedelta(days=3))  # outside 24h, inside 7d
    stored(me.name, hook["id"], "failed", timedelta(minutes=1), test=True)  # a test: never in the stats

    answer = me.call("GET", f"/whisperer/hooks/{hook['id']}/stats/")
    assert answer.status == 200, answer.body
    stats = self_service_schema.HookStats.model_validate(answer.json(), strict=True)
    assert (stats.period, stats.bucket) == ("24h", "hour")
    assert stats.attempts.model_dump() == {"total": 4, "succeeded": 3, "failed": 1}
    assert stats.deliveries.model_dump() == {"delivered": 3, "retrying": 1, "failed": 0, "pending": 0, "deferred": 0}
    assert stats.success_rate == 0.75
    assert stats.latency_ms.model_dump() == {"p50": 20.0, "p95": 500.0, "p99": 500.0}
    assert stats.last_failure_at is not None and stats.last_success_at is not None
    assert stats.last_success_at < stats.last_failure_at
    assert len(stats.series) in (24, 25)
    assert sum(b.attempts for b in stats.series) == 4 and sum(b.delivered for b in stats.series) == 3
    [busy] = [b for b in stats.series if b.delivered]
    assert busy.attempts == 3 and busy.p95_ms == 30.0

    week = me.call("GET", f"/whisperer/hooks/{hook['id']}/stats/?period=7d").json()
    assert week["deliveries"]["failed"] == 1 and week["bucket"] == "hour"
    month = me.call("GET", f"/whisperer/hooks/{hook['id']}/stats?period=30d").json()
    assert month["bucket"] == "day" and len(month["series"]) in (30, 31)


def test_stats_of_a_hook_with_no_deliveries_are_zeros_and_nulls(me: Owner) -> None:
    hook = subscribe(me, "http://127.0.0.1:9/quiet")
    stats = me.call("GET", f"/whisperer/hooks/{hook['id']}/stats/").json()
    assert stats["attempts"] == {"total": 0, "succeeded": 0, "failed": 0}
    assert stats["success_rate"] is None and stats["latency_ms"] == {"p50": None, "p95": None, "p99": None}
    assert stats["last_success_at"] is None and all(b["p95_ms"] is None for b in stats["series"])


def test_dispatch_writes_what_stats_read(me: Owner, receiver: Receiver) -> None:
    """No counters: the record dispatch writes (in its usual batches) carries the attempt log the index projects."""
    hook = subscribe(me, receiver.url("/counted"))
    for _ in range(3):
        dispatcher().dispatch(OmsEvent(str(uuid.uuid4()), EVENT_TYPE, {"id": 3}))
    stats = me.call("GET", f"/whisperer/hooks/{hook['id']}/stats/").json()
    assert stats["deliveries"]["delivered"] == 3 and stats["attempts"]["succeeded"] == 3
    assert stats["latency_ms"]["p50"] is not None and stats["latency_ms"]["p50"] > 0


# --- the event catalog ----------------------------------------------------------------------------------------------


def test_the_event_catalog_lists_the_18_types_then_the_operational_ones_in_detail(call: Caller) -> None:
    answer = call("GET", "/whisperer/event_types/")
    assert answer.status == 200
    catalog = self_service_schema.EventTypeCatalog.model_validate(answer.json(), strict=True)
    assert catalog.count == 18 + 4 and catalog.next is None and catalog.previous is None
    # The registry stays whisperer's list of the OMS's types; the catalog adds the operational ones after them.
    registry = call("GET", "/whisperer/hooks/registry/").json()
    assert [entry.event_type for entry in catalog.results] == [*registry, *OPERATIONAL_EVENT_TYPES]
    assert all(entry.description and entry.schema_["additionalProperties"] is True for entry in catalog.results)


# --- owner scoping, bad input, access patterns ----------------------------------------------------------------------

ROUTES: list[tuple[str, str, Any]] = [
    ("POST", "/whisperer/hooks/{id}/rotate_secret/", {}),
    ("POST", "/whisperer/hooks/{id}/test/", {}),
    ("POST", "/whisperer/hooks/{id}/recover/", {"since": "2024-01-01T00:00:00Z"}),
    ("GET", "/whisperer/hooks/{id}/stats/", None),
]


def test_another_owners_hook_is_404_on_every_route(me: Owner, new_token: Callable[[], str], receiver: Receiver) -> None:
    hook = subscribe(me, receiver.url("/mine"), secret_key=OLD_SECRET)
    stranger = new_token()
    for method, path, body in ROUTES:
        answer = me.call(method, path.format(id=hook["id"]), body, token=stranger)
        assert (answer.status, answer.json()) == (404, {"detail": "Not found."}), (method, path, answer.body)
        missing = me.call(method, path.format(id=10**11), body)
        assert missing.status == 404, (method, path, missing.body)
    assert receiver.received["/mine"] == []  # no test event went out
    assert raw_hook(me, hook["id"])["secret_key"]["S"] == OLD_SECRET  # the stranger rotated nothing


def test_another_owners_deliveries_are_not_recovered(me: Owner, new_token: Callable[[], str]) -> None:
    hook = subscribe(me, "http://127.0.0.1:9/theirs")
    delivery = stored(me.name, hook["id"], "failed", timedelta(minutes=1))
    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    answer = me.call("POST", "/whisperer/hook_events/recover/", {"since": since}, token=new_token())
    assert answer.status == 202 and answer.json()["queued"] == 0
    assert DeliveryStore(settings().deliveries_table).get(delivery.uuid).status == "failed"


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "rotate_secret", {"overlap_seconds": -1}, "overlap_seconds"),
        ("POST", "rotate_secret", {"overlap_seconds": 604801}, "overlap_seconds"),
        ("POST", "rotate_secret", {"overlap_seconds": "60"}, "overlap_seconds"),
        ("POST", "rotate_secret", {"secret_key": ""}, "secret_key"),
        ("POST", "rotate_secret", {"secret_key": 5}, "secret_key"),
        ("POST", "rotate_secret", {"secret_key": "whsec_not base64!"}, "secret_key"),
        ("POST", "rotate_secret", {"secret_key": "whsec_"}, "secret_key"),
        ("POST", "rotate_secret", {"secret_key": "x" * 257}, "secret_key"),
        ("POST", "rotate_secret", {"overlap": 60}, "overlap"),
        ("POST", "test", {"event_type": "order.created"}, "event_type"),
        ("POST", "test", {"payload": "x" * 40_000}, "payload"),
        ("POST", "test", {"hook_id": 1}, "hook_id"),
        ("POST", "recover", {}, "since"),
        ("POST", "recover", {"since": "yesterday"}, "since"),
        ("POST", "recover", {"since": "2024-05-02T00:00:00Z", "until": "2024-05-01T00:00:00Z"}, "until"),
        ("POST", "recover", {"since": "2999-01-01T00:00:00Z"}, "since"),
        ("POST", "recover", {"since": "2024-05-01T00:00:00Z", "include_retrying": "yes"}, "include_retrying"),
        ("POST", "recover", {"since": "2024-05-01T00:00:00Z", "event_type": "shipment.created"}, "event_type"),
        ("GET", "stats/?period=1y", None, "period"),
        ("GET", "stats/?period=", None, "period"),
    ],
)
def test_bad_input_gets_400_naming_the_field(me: Owner, method: str, path: str, body: Any, field: str) -> None:
    hook = subscribe(me, "http://127.0.0.1:9/bad", secret_key=OLD_SECRET)
    target = f"/whisperer/hooks/{hook['id']}/{path}" + ("" if "?" in path else "/")
    answer = me.call(method, target, body)
    assert answer.status == 400, answer.body
    assert list(answer.json()) == [field], answer.json()
    assert all(isinstance(m, str) and m for m in answer.json()[field])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "since"),
        ({"since": "2024-05-01T00:00:00Z", "event_type": "order.created"}, "event_type"),
        ({"since": "2024-05-01T00:00:00Z", "until": "not a date"}, "until"),
        ({"since": "2024-05-01T00:00:00Z", "webhook": 1}, "webhook"),
        ([], "non_field_errors"),
    ],
)
def test_bad_owner_recovery_gets_400_naming_the_field(call: Caller, body: Any, field: str) -> None:
    answer = call("POST", "/whisperer/hook_events/recover/", body)
    assert answer.status == 400, answer.body
    assert list(answer.json()) == [field]


def test_self_service_calls_use_keys_and_indexes_only(me: Owner, receiver: Receiver) -> None:
    hook = subscribe(me, receiver.url("/ops"), secret_key=OLD_SECRET)
    stored(me.name, hook["id"], "failed", timedelta(minutes=1))
    seen: list[str] = []

    def record(model: Any, **_: Any) -> None:
        seen.append(model.name)

    client = dynamodb()
    client.meta.events.register("before-call.dynamodb", record)
    try:
        since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
        calls: list[ApiAnswer] = [
            me.call("POST", f"/whisperer/hooks/{hook['id']}/rotate_secret/", {}),
            me.call("POST", f"/whisperer/hooks/{hook['id']}/test/"),
            me.call("POST", f"/whisperer/hooks/{hook['id']}/recover/", {"since": since}),
            me.call("POST", "/whisperer/hook_events/recover/", {"since": since, "include_retrying": True}),
            me.call("GET", f"/whisperer/hooks/{hook['id']}/stats/?period=30d"),
            me.call("GET", "/whisperer/event_types/"),
        ]
    finally:
        client.meta.events.unregister("before-call.dynamodb", record)
    assert [a.status for a in calls] == [200, 200, 202, 202, 200, 200]
    assert seen and "Scan" not in seen
    assert set(seen) <= {"GetItem", "BatchGetItem", "Query", "TransactWriteItems", "UpdateItem", "PutItem"}


def test_attempts_in_the_log_carry_the_request_headers_as_sent(me: Owner, receiver: Receiver) -> None:
    hook = subscribe(
        me,
        receiver.url("/headers"),
        secret_key=OLD_SECRET,
        additional_headers={"X-Shop": "istanbul-01", "Authorization": "Bearer sk_live_hidden"},
    )
    dispatcher().dispatch(OmsEvent(str(uuid.uuid4()), EVENT_TYPE, {"id": 4}))
    [request] = receiver.wait_for("/headers", 1)
    [delivery] = me.call("GET", f"/whisperer/hook_events/?webhook={hook['id']}").json()["results"]
    assert_documented(delivery, "HookEvent")
    recorded = delivery["attempts"][0]["request_headers"]
    assert recorded["Authorization"] == "Bearer [redacted]"  # credentials to the target are not kept
    assert request.headers["Authorization"] == "Bearer sk_live_hidden"  # but were sent
    for name, value in recorded.items():
        if name != "Authorization":
            assert request.headers[name] == value, name
    assert {"webhook-signature", "X-Whisperer-Signature", "webhook-id", "X-Shop"} <= set(recorded)
    assert OLD_SECRET not in json.dumps(delivery)


def test_the_dispatch_budget_holds_with_rotated_hooks(me: Owner, receiver: Receiver) -> None:
    """A rotation adds the old secret to the dispatcher's projection, not a call: ceil(N/25) + 5 at most."""
    hooks = [subscribe(me, receiver.url(f"/budget/{i}"), secret_key=OLD_SECRET) for i in range(30)]
    for hook in hooks[::2]:
        assert me.call("POST", f"/whisperer/hooks/{hook['id']}/rotate_secret/", {}).status == 200
    shared = dispatcher()
    calls: list[str] = []

    def count(model: Any, **_: Any) -> None:
        calls.append(model.name)

    client = dynamodb()
    client.meta.events.register("before-call.dynamodb", count)
    try:
        for _ in range(2):  # cold (the index is queried), then warm (the cached projection)
            calls.clear()
            report = shared.dispatch(OmsEvent(str(uuid.uuid4()), EVENT_TYPE, {"id": 5}))
            assert report.delivered == 30
            assert len(calls) <= math.ceil(30 / 25) + 5, calls
    finally:
        client.meta.events.unregister("before-call.dynamodb", count)
    requests = [r for i in range(30) for r in receiver.received[f"/budget/{i}"]]
    assert len(requests) == 60
    assert sum(len(r.headers["webhook-signature"].split(" ")) == 2 for r in requests) == 30  # the rotated 15, twice


def test_a_recovery_whose_messages_cannot_be_sent_leaves_nothing_marked(me: Owner) -> None:
    """SQS refusing the messages (here: a queue that does not exist) undoes the marks, so a later call queues them."""
    hook = subscribe(me, "http://127.0.0.1:9/unsent")
    failed = [stored(me.name, hook["id"], "failed", timedelta(minutes=1)) for _ in range(3)]
    config = settings()
    request = RecoverRequest.model_validate({"since": (datetime.now(UTC) - timedelta(hours=1)).isoformat()})
    index, hooks = DeliveryIndex(config.deliveries_table), HookStore(config.hooks_table)
    missing = RetryQueue(config.retry_queue_url.rsplit("/", 1)[0] + "/no-such-queue")
    with pytest.raises(ClientError):
        Recovery(index, hooks, missing).recover_hook(me.name, hook["id"], request)
    store = DeliveryStore(config.deliveries_table)
    for delivery in failed:
        item = dynamodb().get_item(TableName=config.deliveries_table, Key={"uuid": {"S": delivery.uuid}})["Item"]
        assert item["status"]["S"] == "failed" and "recovery" not in item and "next_attempt_at" not in item
        assert store.get(delivery.uuid).status == "failed"
    with RetryQueueWatch() as queue:
        report = Recovery(index, hooks, RetryQueue(config.retry_queue_url)).recover_hook(me.name, hook["id"], request)
        assert report.queued == 3 and queue.uuids_sent() == sorted(d.uuid for d in failed)


# --- what the console reads: the exact body, one event's deliveries, a chosen test event, every status charted --------


def test_a_delivery_shows_the_exact_bytes_sent_which_a_parsed_payload_would_change(
    me: Owner, receiver: Receiver
) -> None:
    """`1.0` and 2**53 + 1 are where JSON parsers part: JavaScript's reads them as 1 and 2**53. `request_body` is
    the text of the bytes sent, so a browser copies what was signed."""
    hook = subscribe(me, receiver.url("/exact"), secret_key=OLD_SECRET)
    payload = {"id": 7, "amount": 1.0, "big": 2**53 + 1, "note": "çay ☕"}
    dispatcher().dispatch(OmsEvent(str(uuid.uuid4()), EVENT_TYPE, payload))
    [request] = receiver.wait_for("/exact", 1)
    [shown] = me.call("GET", f"/whisperer/hook_events/?webhook={hook['id']}").json()["results"]
    answer = me.call("GET", f"/whisperer/hook_events/{shown['uuid']}/")
    assert answer.status == 200, answer.body
    assert_documented(answer.json(), "HookEventDetail")
    body = answer.json()["request_body"]
    assert body.encode() == request.body
    assert '"amount":1.0' in body and f'"big":{2**53 + 1}' in body
    assert request.headers["X-Whisperer-Signature"] == whisperer_signature(OLD_SECRET, body.encode())
    assert "request_body" not in shown  # the log's pages stay as they were: the body is on a delivery's own page


def test_one_events_deliveries_are_listed_by_its_id_one_per_hook(
    me: Owner, receiver: Receiver, new_token: Callable[[], str]
) -> None:
    first, second = (subscribe(me, receiver.url(f"/event-{n}")) for n in range(2))
    other_type = me.call(
        "POST", "/whisperer/hooks/", {"event_type": "shipment.created", "target_url": receiver.url("/event-other")}
    ).json()
    event_id, later = str(uuid.uuid4()), str(uuid.uuid4())
    dispatcher().dispatch(OmsEvent(event_id, EVENT_TYPE, {"id": 1}))
    dispatcher().dispatch(OmsEvent(later, EVENT_TYPE, {"id": 2}))
    receiver.wait_for("/event-0", 2)
    receiver.wait_for("/event-1", 2)

    def listed(query: str, token: str | None = None) -> list[dict[str, Any]]:
        answer = me.call("GET", f"/whisperer/hook_events/?{query}", **({"token": token} if token else {}))
        assert answer.status == 200, answer.body
        assert_documented(answer.json(), "HookEventPage")
        return list(answer.json()["results"])

    found = listed(f"event_id={event_id}")
    assert sorted(d["webhook"]["id"] for d in found) == sorted([first["id"], second["id"]])
    assert {d["event_id"] for d in found} == {event_id} and other_type["id"] not in [d["webhook"]["id"] for d in found]
    assert [d["uuid"] for d in listed(f"event_id={event_id}&webhook={second['id']}")] == [
        delivery_id(event_id, second["id"])
    ]
    assert listed(f"event_id={event_id}&status=failed") == []
    assert listed(f"event_id={uuid.uuid4()}") == []
    assert listed(f"event_id={event_id}", token=new_token()) == []  # another owner's event is not theirs to see
    trial = me.call("POST", f"/whisperer/hooks/{first['id']}/test/", {}).json()
    assert [d["uuid"] for d in listed(f"event_id={trial['event_id']}")] == [trial["uuid"]]


def test_an_events_deliveries_are_read_by_key_not_by_reading_the_log(me: Owner, receiver: Receiver) -> None:
    hook = subscribe(me, receiver.url("/keyed"))
    event_id = str(uuid.uuid4())
    dispatcher().dispatch(OmsEvent(event_id, EVENT_TYPE, {"id": 1}))
    receiver.wait_for("/keyed", 1)
    seen: list[str] = []

    def record(model: Any, params: dict[str, Any], **_: Any) -> None:
        seen.append(f"{model.name} {params.get('IndexName', '')}".strip())

    client = dynamodb()
    client.meta.events.register("before-call.dynamodb", record)
    try:
        answer = me.call("GET", f"/whisperer/hook_events/?event_id={event_id}")
    finally:
        client.meta.events.unregister("before-call.dynamodb", record)
    assert [d["webhook"]["id"] for d in answer.json()["results"]] == [hook["id"]]
    assert "Scan" not in " ".join(seen) and not any(call.startswith("Query By") for call in seen), seen


def test_a_test_event_may_carry_a_catalog_type_and_a_payload_of_ones_own(me: Owner, receiver: Receiver) -> None:
    hook = subscribe(me, receiver.script("/chosen", Answer(200, b"ok")))
    payload = {"id": 4711, "amount": 1.0}
    answer = me.call(
        "POST", f"/whisperer/hooks/{hook['id']}/test/", {"event_type": "package-created", "payload": payload}
    )
    assert answer.status == 200, answer.body
    shown = answer.json()
    assert_documented(shown, "TrialDelivery")
    assert shown["event_type"] == "package.created" and shown["test"] is True
    [request] = receiver.wait_for("/chosen", 1)
    assert request.headers["X-Whisperer-Event"] == "package.created"
    assert request.body == shown["request_body"].encode()
    assert json.loads(request.body) == {"event": {"type": "package.created", "uuid": shown["uuid"]}, "payload": payload}
    assert b'"amount":1.0' in request.body
    default = me.call("POST", f"/whisperer/hooks/{hook['id']}/test/", {"event_type": "webhook.test"}).json()
    assert default["event_type"] == "webhook.test" and default["request_payload"]["payload"]["hook_id"] == hook["id"]


def test_the_stats_series_counts_pending_and_deferred_deliveries_too(me: Owner) -> None:
    hook = subscribe(me, "http://127.0.0.1:9/waiting")
    stored(me.name, hook["id"], "deferred", timedelta(minutes=5))
    stored(me.name, hook["id"], "pending", timedelta(minutes=5))
    stored(me.name, hook["id"], "failed", timedelta(minutes=5))
    stats = self_service_schema.HookStats.model_validate(
        me.call("GET", f"/whisperer/hooks/{hook['id']}/stats/").json(), strict=True
    )
    [busy] = [b for b in stats.series if b.failed or b.pending or b.deferred]
    assert (busy.failed, busy.pending, busy.deferred, busy.delivered, busy.retrying) == (1, 1, 1, 0, 0)


def test_each_attempt_keeps_its_own_answer_status_headers_and_body(me: Owner, receiver: Receiver) -> None:
    """Every attempt's answer, not only the last one: what a 503 said (and its Retry-After) stays beside the 200
    that followed, read back from the stored record."""
    hook = subscribe(
        me,
        receiver.script(
            "/answers",
            Answer(503, b"maintenance until 10:00", headers={"Retry-After": "1", "X-Request-Id": "first"}),
            Answer(200, b"thanks", headers={"X-Request-Id": "second", "Set-Cookie": "sid=s3cret"}),
        ),
        retry_countdown_config={"choice": "fixed", "kwargs": {"seconds": 3600}},
    )
    dispatcher().dispatch(OmsEvent(str(uuid.uuid4()), EVENT_TYPE, {"id": 5}))
    receiver.wait_for("/answers", 1)
    [shown] = me.call("GET", f"/whisperer/hook_events/?webhook={hook['id']}").json()["results"]
    retried = me.call("POST", f"/whisperer/hook_events/{shown['uuid']}/retry/", {"force": True})
    assert retried.status == 200, retried.body
    delivery = me.call("GET", f"/whisperer/hook_events/{shown['uuid']}/").json()
    assert_documented(delivery, "HookEventDetail")
    first, second = delivery["attempts"]
    assert (first["status_code"], first["response_content"]) == (503, "maintenance until 10:00")
    assert first["response_headers"]["Retry-After"] == "1" and first["response_headers"]["X-Request-Id"] == "first"
    assert (second["status_code"], second["response_content"]) == (200, "thanks")
    assert second["response_headers"]["X-Request-Id"] == "second"
    assert second["response_headers"]["Set-Cookie"] == "[redacted]" and "s3cret" not in json.dumps(delivery)
    assert delivery["response_content"] == "thanks"  # the delivery's own: its last answer, as whisperer shows it


def test_a_records_answers_cost_bytes_as_the_readme_says() -> None:
    """The per-attempt answer's cost, in the stored item's compressed detail (the one attribute it adds to): a
    typical answer's few headers and short body, for a delivery that failed once and then delivered."""
    from oms_webhooks.adapters.delivery_items import delivery_item

    def item_size(item: dict[str, Any]) -> int:
        return len(item["detail"]["B"])

    moment = datetime.now(UTC)

    def delivery(answers: bool) -> Delivery:
        made = Delivery(
            uuid=delivery_id(uuid.uuid4().hex, 1),
            owner="acme",
            webhook=1,
            event_id=str(uuid.uuid4()),
            event_type=EVENT_TYPE,
            request_payload=None,
            payload_claim="claim",
            target_url="https://erp.example.com/hooks/oms",
            created_date=moment,
            modified_date=moment,
        )
        for status, body in ((503, '{"error": "upstream unavailable", "request_id": "7f3c2a9e"}'), (200, "ok")):
            headers = {
                "Server": "nginx",
                "Date": "Sat, 05 Dec 2026 02:00:00 GMT",
                "Content-Type": "application/json",
                "Content-Length": str(len(body)),
                "Connection": "keep-alive",
            }
            made.record(
                Attempt(
                    at=moment,
                    status_code=status,
                    duration=0.041,
                    response_headers=headers if answers else {},
                    response_content=body if answers else None,
                ),
                body,
            )
        return made

    before, after = item_size(delivery_item(delivery(False))), item_size(delivery_item(delivery(True)))
    assert 0 < after - before < 300, (before, after)
