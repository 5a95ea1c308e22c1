"""Every file in events/ runs through its function in-process, as `oms-webhooks invoke` runs it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from oms_webhooks.adapters.delivery_store import DeliveryStore
from oms_webhooks.adapters.tokens import token_hash
from oms_webhooks.domain.deliveries import Attempt, Delivery
from oms_webhooks.settings import settings
from oms_webhooks_cli.local.lambdas import LocalFunction

EVENTS = Path(__file__).resolve().parents[2] / "events"
# Which function each folder of events/ is for; a new folder must be added here (the last test checks).
FUNCTION_FOR = {
    "api": "ApiFunction",
    "authorizer": "AuthorizerFunction",
    "eventbridge": "DispatcherFunction",  # each sample goes through it in test_dispatch.py, with receivers
    "sqs": "RetrierFunction",
    "sqs-fifo": "SequencerFunction",
}

API_STATUS = {
    "hooks-create": 201,
    "hooks-create-invalid": 400,
    "hooks-list": 200,
    "hooks-registry": 200,
    "hooks-retrieve": 200,
    "hooks-update": 200,
    "hooks-replace": 200,
    "hooks-delete": 204,
    "hook-events-list": 200,
    "hook-events-list-invalid": 400,
    "hook-events-retrieve": 200,
    "hook-events-retrieve-uuid": 200,
    "hook-events-retry-form": 406,  # the sample delivery was delivered: `event_100_3`, read from a form body
    "event-queues-list": 200,
}
SAMPLE_DELIVERY = "c9591f0d1c1d4da58ade880921bd7e93"  # the delivery the hook-events samples name (id 7084307527205819)
# The self-service samples (test_every_self_service_api_event), in the order they run.
SELF_SERVICE_STATUS = {
    "hooks-rotate-secret": 200,
    "hooks-test": 200,
    "hooks-stats": 200,
    "hooks-recover": 202,
    "hook-events-recover": 202,
    "event-types-list": 200,
}


def load(path: Path) -> dict:
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def events_owner_hook(deployed: dict[str, LocalFunction]) -> int:
    """The sample events act as `events-owner` on hook 1: make that hook exist, owned by them."""
    api = deployed["ApiFunction"]
    created = api.invoke(load(EVENTS / "api" / "hooks-create.json"))
    assert created["statusCode"] == 201, created
    return int(json.loads(created["body"])["id"])


@pytest.fixture(scope="module")
def events_owner_delivery(deployed: dict[str, LocalFunction], events_owner_hook: int) -> Delivery:
    """The hook-events samples name one delivered delivery of `events-owner`."""
    moment = datetime(2026, 1, 7, 10, 21, 33, tzinfo=UTC)
    delivery = Delivery(
        uuid=SAMPLE_DELIVERY,
        owner="events-owner",
        webhook=events_owner_hook,
        event_id="4cfef4d6-6649-4412-9143-9b9f1f4b6a6c",
        event_type="package.created",
        request_payload={"id": 1073},
        target_url="https://erp.example.com/oms/webhooks/",
        created_date=moment,
        modified_date=moment,
    )
    delivery.record(Attempt(at=moment, status_code=200, duration=0.080303), "ok")
    DeliveryStore(settings().deliveries_table).save(delivery)
    return delivery


def test_every_api_event(
    deployed: dict[str, LocalFunction], events_owner_hook: int, events_owner_delivery: Delivery
) -> None:
    api = deployed["ApiFunction"]
    files = sorted((EVENTS / "api").glob("*.json"))
    assert {f.stem for f in files} == set(API_STATUS) | set(SELF_SERVICE_STATUS)
    order = [
        "hooks-create-invalid",
        "hooks-list",
        "hooks-registry",
        "hooks-retrieve",
        "hooks-update",
        "hooks-replace",
        "hook-events-list",
        "hook-events-list-invalid",
        "hook-events-retrieve",
        "hook-events-retrieve-uuid",
        "hook-events-retry-form",
        "event-queues-list",
        "hooks-delete",
    ]
    for name in order:
        event = load(EVENTS / "api" / f"{name}.json")
        event = json.loads(json.dumps(event).replace("/hooks/1/", f"/hooks/{events_owner_hook}/"))
        answer = api.invoke(event)
        assert answer["statusCode"] == API_STATUS[name], (name, answer)
        if answer["statusCode"] != 204:
            json.loads(answer["body"])
        if name.startswith("hook-events-retrieve"):
            assert json.loads(answer["body"])["id"] == events_owner_delivery.id
    again = api.invoke(load(EVENTS / "api" / "hooks-create.json"))
    assert again["statusCode"] == 201  # hooks-replace moved the sample hook, so its first place is free again


def test_every_authorizer_event(deployed: dict[str, LocalFunction]) -> None:
    from oms_webhooks.adapters.aws import dynamodb

    valid = load(EVENTS / "authorizer" / "token-valid.json")
    token = valid["authorizationToken"].removeprefix("Token ")
    dynamodb().put_item(
        TableName=settings().tokens_table,
        Item={"token_hash": {"S": token_hash(token)}, "owner": {"S": "events-owner"}, "created_date": {"S": "-"}},
    )
    policy = deployed["AuthorizerFunction"].invoke(valid)
    assert policy["principalId"] == "events-owner"
    assert policy["context"] == {"owner": "events-owner"}
    [statement] = policy["policyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Resource"] == ["arn:aws:execute-api:eu-central-1:123456789012:abc123/prod/*/*"]

    with pytest.raises(Exception, match=r"^Unauthorized$"):
        deployed["AuthorizerFunction"].invoke(load(EVENTS / "authorizer" / "token-unknown.json"))


def test_every_events_folder_is_exercised() -> None:
    folders = {p.name for p in EVENTS.iterdir() if p.is_dir()}
    assert folders == set(FUNCTION_FOR)


def test_every_retrier_event(deployed: dict[str, LocalFunction], caplog: pytest.LogCaptureFixture) -> None:
    """The sample names a delivery this stack never made: acknowledged (not retried forever) and logged."""
    answer = deployed["RetrierFunction"].invoke(load(EVENTS / "sqs" / "retry-batch.json"))
    assert answer == {"batchItemFailures": []}
    assert "No record for this retry (expired or never written)" in caplog.messages


def test_every_sequencer_event(deployed: dict[str, LocalFunction], caplog: pytest.LogCaptureFixture) -> None:
    """The sample's two messages of one object's queue name deliveries this stack never made: each is dropped (its
    queue goes on, nothing waits forever) and logged."""
    answer = deployed["SequencerFunction"].invoke(load(EVENTS / "sqs-fifo" / "ordered-batch.json"))
    assert answer == {"batchItemFailures": []}
    assert caplog.messages.count("Ordered delivery without a record: its object's queue goes on") == 2


def test_every_self_service_api_event(deployed: dict[str, LocalFunction]) -> None:
    """On a hook of `events-owner` that targets a local receiver, so that the test event stays on this machine."""
    from oms_webhooks.adapters.address_guard import AddressPolicy
    from oms_webhooks.adapters.hook_store import HookStore
    from oms_webhooks.domain.hooks import HookIn
    from oms_webhooks.rules.subscriptions import Subscriptions
    from tests.receiver import Receiver

    receiver = Receiver()
    subscriptions = Subscriptions(HookStore(settings().hooks_table), AddressPolicy(allow_loopback=True))
    hook = subscriptions.create(
        "events-owner",
        HookIn.model_validate(
            {"event_type": "package.created", "target_url": receiver.url("/samples"), "secret_key": "s3cret"}
        ),
    )
    try:
        for name, status in SELF_SERVICE_STATUS.items():
            event = load(EVENTS / "api" / f"{name}.json")
            event = json.loads(json.dumps(event).replace("/hooks/1/", f"/hooks/{hook.id}/"))
            answer = deployed["ApiFunction"].invoke(event)
            assert answer["statusCode"] == status, (name, answer)
            json.loads(answer["body"])
        assert len(receiver.wait_for("/samples", 1)) == 1  # the test event, signed with the rotated secret
    finally:
        subscriptions.delete("events-owner", hook.id)
        receiver.stop()
