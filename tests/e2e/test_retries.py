"""Retries end to end: failed deliveries come back through the SQS retry queue on the hook's own countdown."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Client
from tests.receiver import Answer, Receiver

FAIL = Answer(500, b"not yet")
OK = Answer(200, b"thanks")


def attempt_offsets(receiver: Receiver, path: str, count: int, timeout: float) -> list[float]:
    requests = receiver.wait_for(path, count, timeout=timeout)
    assert len(requests) == count, f"{len(requests)} of {count} attempts arrived"
    return [r.at - requests[0].at for r in requests]


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"choice": "fixed", "kwargs": {"seconds": 2}}, [0, 2, 4]),
        ({"choice": "linear", "kwargs": {"base": 1}}, [0, 0, 1, 3]),
        ({"choice": "exponential", "kwargs": {"base": 2}}, [0, 1, 3]),
        ({"choice": "exponential", "kwargs": {"base": 1, "factor": 2}}, [0, 2, 4]),
    ],
    ids=["fixed", "linear", "exponential", "exponential-factor"],
)
def test_attempts_follow_the_countdown_then_deliver(
    client: Client, receiver: Receiver, config: dict, expected: list[float]
) -> None:
    failures = len(expected) - 1
    url = receiver.script("/flaky", *[FAIL] * failures, OK)
    hook = client.subscribe(url, retry_countdown_config=config)
    client.publish("package.created", {"id": 10})

    offsets = attempt_offsets(receiver, "/flaky", len(expected), timeout=expected[-1] + 8)
    for got, want in zip(offsets, expected, strict=True):
        assert abs(got - want) <= 1.0, f"attempts at {offsets}, expected about {expected}"

    delivery = client.wait_for_delivery(hook["id"], lambda d: d["delivered"])
    assert delivery["status"] == "delivered"
    assert delivery["retry_count"] == failures + 1  # whisperer counts every attempt, the first included
    assert [a["status_code"] for a in delivery["attempts"]] == [500] * failures + [200]
    assert len(delivery["request_datetimes"]) == len(expected)
    bodies = {r.body for r in receiver.received["/flaky"]}
    assert len(bodies) == 1  # the same delivery, same uuid, every time


def test_a_receiver_that_always_fails_ends_failed_after_max_retries(client: Client, receiver: Receiver) -> None:
    hook = client.subscribe(
        receiver.script("/down", Answer(503, b"maintenance")),
        retry_countdown_config={"choice": "fixed", "kwargs": {"seconds": 1}, "max_retries": 3},
    )
    client.publish("package.created", {"id": 11})
    delivery = client.wait_for_delivery(hook["id"], lambda d: d["status"] == "failed", timeout=15)
    assert delivery["retry_count"] == 4  # the first attempt and 3 retries
    assert delivery["delivered"] is False
    assert [a["status_code"] for a in delivery["attempts"]] == [503] * 4
    assert delivery["next_attempt_at"] is None
    assert len(receiver.received["/down"]) == 4


def test_retry_after_is_honoured(client: Client, receiver: Receiver) -> None:
    url = receiver.script("/busy", Answer(429, b"slow down", {"Retry-After": "3"}), OK)
    client.subscribe(url, retry_countdown_config={"choice": "fixed", "kwargs": {"seconds": 1}})
    client.publish("package.created", {"id": 12})
    offsets = attempt_offsets(receiver, "/busy", 2, timeout=10)
    assert 3.0 <= offsets[1] <= 4.0


def test_410_gone_deactivates_the_hook_and_stops_retrying(client: Client, receiver: Receiver) -> None:
    hook = client.subscribe(
        receiver.script("/gone", Answer(410, b"unsubscribed")),
        retry_countdown_config={"choice": "fixed", "kwargs": {"seconds": 1}},
    )
    client.publish("package.created", {"id": 13})
    delivery = client.wait_for_delivery(hook["id"], lambda d: d["status"] == "failed")
    assert delivery["retry_count"] == 1
    assert client.http.get(client.url(f"hooks/{hook['id']}/")).json()["is_active"] is False
    client.publish("package.created", {"id": 14})
    receiver.wait_for("/gone", 2, timeout=3)
    assert len(receiver.received["/gone"]) == 1


def test_manual_retry_follows_whisperer(client: Client, receiver: Receiver) -> None:
    url = receiver.script("/manual", FAIL, FAIL, OK)
    hook = client.subscribe(
        url, retry_countdown_config={"choice": "fixed", "kwargs": {"seconds": 60}, "max_retries": 1}
    )
    client.publish("package.created", {"id": 15})
    delivery = client.wait_for_delivery(hook["id"], lambda d: d["status"] == "retrying")
    retry = client.url(f"hook_events/{delivery['uuid']}/retry/")

    waiting = client.http.post(retry, json={})
    assert waiting.status_code == 406
    assert waiting.json()["code"] == "event_100_6"

    failed = client.http.post(retry, json={"force": True})
    assert failed.status_code == 406
    assert failed.json()["delivered"] is False and failed.json()["response_status"] == 500

    done = client.http.post(retry, json={"force": True})
    assert done.status_code == 200
    assert done.json() == {
        "detail": "Webhook event delivered successfully",
        "response_status": 200,
        "response_content": "thanks",
        "delivered": True,
        "response_time": done.json()["response_time"],
    }
    assert client.http.post(retry, json={"force": True}).json()["code"] == "event_100_3"

    record = client.delivery(delivery["uuid"])
    assert record["status"] == "delivered"
    assert record["retry_count"] == 3  # the first attempt and both manual ones, as whisperer counts
    assert [a["manual"] for a in record["attempts"]] == [False, True, True]
    assert client.http.post(retry, json={"force": "yes"}).status_code == 400
