"""Concurrent attempts on one delivery all land in its record: a manual retry beside the retrier's attempt, in
either order of saving. Each writer writes over the version it read, or replays its attempt onto the newer record."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from oms_webhooks import wiring
from oms_webhooks.adapters.delivery_store import DeliveryStore
from oms_webhooks.adapters.queues import RetryMessage
from oms_webhooks.domain.deliveries import delivery_id
from oms_webhooks.domain.oms_event import OmsEvent
from oms_webhooks.rules.retrier import Received, RetryBatch
from oms_webhooks.settings import settings
from oms_webhooks_cli.local.lambdas import LocalFunction
from tests.conftest import Caller
from tests.receiver import Answer, Receiver

EVENT_TYPE = "transfer.status.ready_to_shipment"
SLOW = 1.5  # seconds the first of the two racing requests is held at the receiver, while the other one runs


@pytest.mark.parametrize("retrier_first", [True, False], ids=["retrier saves last", "manual retry saves last"])
def test_a_manual_retry_racing_the_retrier_loses_no_attempt(
    deployed: dict[str, LocalFunction], receiver: Receiver, call: Caller, retrier_first: bool
) -> None:
    path = f"/race-{uuid.uuid4().hex[:6]}"
    # The first attempt fails; then whichever racing request comes first is held while the other is answered.
    receiver.script(path, Answer(500), Answer(200, delay=SLOW), Answer(503))
    countdown = {"choice": "fixed", "kwargs": {"seconds": 0}, "max_retries": 3}
    answer = call(
        "POST",
        "/whisperer/hooks/",
        {"event_type": EVENT_TYPE, "target_url": receiver.url(path), **{"retry_countdown_config": countdown}},
    )
    assert answer.status == 201, answer.body
    event_id = str(uuid.uuid4())
    report = wiring.dispatcher().dispatch(OmsEvent(event_id, EVENT_TYPE, {"id": 41}))
    hook_id = answer.json()["id"]
    assert report.retrying >= 1  # this test's hook, and any other test's left on this event type
    delivery_uuid = delivery_id(event_id, hook_id)

    outcome: dict[str, object] = {}

    def retry() -> None:
        outcome["retrier"] = wiring.retrier().process(
            Received(RetryMessage(uuid=delivery_uuid), "unused"), RetryBatch()
        )

    def manual() -> None:
        outcome["manual"] = call("POST", f"/whisperer/hook_events/{delivery_uuid}/retry/", {"force": True})

    first, second = (retry, manual) if retrier_first else (manual, retry)
    racing = threading.Thread(target=first)
    racing.start()
    receiver.wait_for(path, 2, timeout=30)  # the first racer's request is at the receiver, held there
    time.sleep(0.2)
    second()
    racing.join(timeout=60)
    assert not racing.is_alive()
    assert call("DELETE", f"/whisperer/hooks/{hook_id}/").status == 204  # the next test's event passes it by

    record = DeliveryStore(settings().deliveries_table).get(delivery_uuid)
    codes = sorted(attempt.status_code or 0 for attempt in record.attempts)
    assert codes == [200, 500, 503], record.attempts  # the first attempt and both racers'
    assert [attempt.manual for attempt in record.attempts].count(True) == 1
    assert record.retry_count == 3
    assert record.status == "delivered" and record.delivered
    assert [a.at for a in record.attempts] == sorted(a.at for a in record.attempts)
