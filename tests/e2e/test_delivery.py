"""Events in, deliveries out: publish on the local bus, real receivers on 127.0.0.1, the log over the API."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import socket
import time
from datetime import datetime
from pathlib import Path

import requests
from standardwebhooks.webhooks import Webhook

from tests.e2e.conftest import Client, LocalStackProcess
from tests.receiver import Answer, Receiver

PAYLOAD = json.loads((Path(__file__).resolve().parents[2] / "events/eventbridge/package.created.json").read_text())[
    "detail"
]["payload"]
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def test_publish_with_the_cli_delivers_the_exact_signed_body(
    local_stack: LocalStackProcess, client: Client, receiver: Receiver
) -> None:
    hook = client.subscribe(receiver.script("/orders"), secret_key=SECRET, additional_headers={"X-Shop": "ist-01"})
    started = time.time()
    published = local_stack.cli("publish", "package.created", "--payload", json.dumps(PAYLOAD))
    assert published.stdout.strip()

    [request] = receiver.wait_for("/orders", 1, timeout=30)
    # Promptly, not after a retry; latency itself is the benchmark's (bench/latency.py), loaded machines included.
    assert request.at - started < 10
    body = json.loads(request.body)
    assert set(body) == {"event", "payload"}
    assert body["event"]["type"] == "package.created"
    assert len(body["event"]["uuid"]) == 32
    assert body["payload"] == PAYLOAD

    headers = {k.lower(): v for k, v in request.headers.items()}
    assert headers["content-type"] == "application/json"
    assert headers["x-whisperer-event"] == "package.created"
    assert headers["x-shop"] == "ist-01"
    assert headers["user-agent"].startswith("OMS-Webhooks/")
    expected = hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    assert headers["x-whisperer-signature"] == f"sha256={expected}"
    assert headers["webhook-id"] == body["event"]["uuid"]
    Webhook(SECRET).verify(request.body, headers)  # the official Standard Webhooks verifier

    delivery = client.wait_for_delivery(hook["id"], lambda d: d["delivered"])
    assert delivery["uuid"] == body["event"]["uuid"]
    assert delivery["response_http_status"] == 200
    assert delivery["status"] == "delivered"
    assert re.fullmatch(r"00:00:0[0-4]\.\d{6}", delivery["response_time"])  # DRF's duration, within the 5 s timeout
    assert delivery["request_payload"] == body
    assert [a["status_code"] for a in delivery["attempts"]] == [200]
    # its own page: the log's fields and the body exactly as sent
    assert client.delivery(delivery["uuid"]) == {**delivery, "request_body": request.body.decode()}


def test_every_subscriber_of_the_type_and_only_those(client: Client, receiver: Receiver) -> None:
    hooks = [client.subscribe(receiver.script(f"/s{i}")) for i in range(3)]
    client.subscribe(receiver.script("/shipments"), event_type="shipment.created")
    inactive = client.subscribe(receiver.script("/off"), is_active=False)
    client.publish("package.created", {"id": 1})
    for i in range(3):
        assert len(receiver.wait_for(f"/s{i}", 1, timeout=30)) == 1
    uuids = {json.loads(receiver.received[f"/s{i}"][0].body)["event"]["uuid"] for i in range(3)}
    assert len(uuids) == 3
    for hook in hooks:
        client.wait_for_delivery(hook["id"], lambda d: d["delivered"])
    time.sleep(0.5)
    assert receiver.received["/shipments"] == [] and receiver.received["/off"] == []
    assert client.deliveries(webhook=inactive["id"]) == []


def test_failures_are_recorded_500_refused_and_redirect(client: Client, receiver: Receiver) -> None:
    failing = client.subscribe(receiver.script("/500", Answer(500, b"database is down")), **max_retries_config())
    redirect = client.subscribe(
        receiver.script("/moved", Answer(302, b"", {"Location": "/elsewhere"})), **max_retries_config()
    )
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    refused = client.subscribe(f"http://127.0.0.1:{port}/nobody", **max_retries_config())
    client.publish("package.created", {"id": 2})

    d500 = client.wait_for_delivery(failing["id"], lambda d: d["attempts"])
    assert d500["response_http_status"] == 500 and d500["response_content"] == "database is down"
    assert d500["delivered"] is False and d500["status"] == "failed"

    moved = client.wait_for_delivery(redirect["id"], lambda d: d["attempts"])
    assert moved["response_http_status"] == 302 and moved["delivered"] is False
    assert "redirects are not followed" in moved["attempts"][0]["error"]
    assert receiver.received["/elsewhere"] == []

    nobody = client.wait_for_delivery(refused["id"], lambda d: d["attempts"])
    assert nobody["response_http_status"] == 500  # as whisperer records a refused connection ...
    assert nobody["response_content"] == "Connection refused"  # ... with the reason readable
    assert nobody["attempts"][0]["status_code"] is None  # per attempt, the truth: no answer came
    assert nobody["attempts"][0]["error"] == "Connection refused"


def test_a_hanging_receiver_does_not_delay_the_others(client: Client, receiver: Receiver) -> None:
    slow = client.subscribe(receiver.script("/hang", Answer(hang=True)), **max_retries_config())
    fast = [client.subscribe(receiver.script(f"/fast{i}")) for i in range(5)]
    client.publish("package.created", {"id": 3})
    arrivals = [receiver.wait_for(f"/fast{i}", 1, timeout=30)[0].at for i in range(5)]
    for hook in fast:
        client.wait_for_delivery(hook["id"], lambda d: d["delivered"])
    hung = client.wait_for_delivery(slow["id"], lambda d: d["attempts"], timeout=60)
    assert "timed out" in hung["attempts"][0]["error"].lower()
    assert 4.5 < hung["attempts"][0]["duration"] < 15  # the stack runs with DeliveryTotalTimeout=5
    hang_ended = datetime.fromisoformat(hung["attempts"][0]["at"]).timestamp() + hung["attempts"][0]["duration"]
    assert max(arrivals) < hang_ended  # the others did not wait for it


def test_literal_private_targets_are_refused_when_subscribing(client: Client) -> None:
    for url in [
        "http://10.0.0.1/x",
        "http://169.254.169.254/latest/meta-data",
        "http://[::ffff:10.0.0.1]/",
        "http://0x0a000001/",
        "http://167772161/",
        "http://012.0.0.1/",
    ]:
        answer = client.http.post(client.url("hooks/"), json={"event_type": "package.created", "target_url": url})
        assert answer.status_code == 400, url
        assert "is not a public address" in answer.json()["target_url"][0]


def test_delivery_log_filters_and_owner_scope(
    local_stack: LocalStackProcess, client: Client, receiver: Receiver
) -> None:
    ok = client.subscribe(receiver.script("/ok"))
    bad = client.subscribe(receiver.script("/bad", Answer(404)), **max_retries_config())
    client.publish("package.created", {"id": 4})
    client.wait_for_delivery(ok["id"], lambda d: d["delivered"])
    client.wait_for_delivery(bad["id"], lambda d: d["attempts"])
    assert [d["webhook"]["id"] for d in client.deliveries(delivered="true")] == [ok["id"]]
    assert [d["webhook"]["id"] for d in client.deliveries(response_http_status=404)] == [bad["id"]]
    assert len(client.deliveries(event_type="package-created")) == 2
    assert client.deliveries(event_type="shipment.created") == []
    assert len(client.deliveries(created_date__gte="2020-01-01T00:00:00Z")) == 2
    assert client.deliveries(created_date__lte="2020-01-01T00:00:00") == []
    page = client.http.get(client.url("hook_events/"), params={"limit": 1}).json()
    assert len(page["results"]) == 1 and page["next"]
    assert client.http.get(client.url("hook_events/"), params={"delivered": "maybe"}).status_code == 400

    uuid = client.deliveries()[0]["uuid"]
    stranger = Client(local_stack, requests.Session())
    assert stranger.deliveries() == []
    assert stranger.http.get(stranger.url(f"hook_events/{uuid}/")).status_code == 404
    assert stranger.http.post(stranger.url(f"hook_events/{uuid}/retry/"), json={}).status_code == 404


def max_retries_config() -> dict:
    """Fail at once, no retries, so the first attempt is the whole story."""
    return {"retry_countdown_config": {"choice": "fixed", "kwargs": {"seconds": 1}, "max_retries": 0}}


def test_a_fan_out_larger_than_a_batch_is_split_and_delivered_once(client: Client, receiver: Receiver) -> None:
    hooks = [client.subscribe(receiver.script(f"/many/{i}"), event_type="shipment.status.updated") for i in range(60)]
    client.publish("shipment.status.updated", {"id": 77})  # the stack runs with FanoutBatchSize=25: 3 batches
    deadline = time.monotonic() + 60
    for i in range(60):
        assert len(receiver.wait_for(f"/many/{i}", 1, timeout=max(0.0, deadline - time.monotonic()))) == 1
    time.sleep(0.5)
    assert all(len(receiver.received[f"/many/{i}"]) == 1 for i in range(60))
    assert len({json.loads(receiver.received[f"/many/{i}"][0].body)["event"]["uuid"] for i in range(60)}) == 60
    assert all(d["delivered"] for d in client.deliveries(event_type="shipment.status.updated", limit=100))
    assert len(hooks) == 60
