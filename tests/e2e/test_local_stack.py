"""The local stack as a whole: its gateway answers as API Gateway would, its moto survives concurrent polling,
and it stops, every process of it, when asked."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from oms_webhooks_cli.local import moto_dynamodb, moto_sqs
from tests.e2e.conftest import Client, LocalStackProcess, start_local_stack, stop_local_stack
from tests.load.processes import alive, tree
from tests.receiver import Answer, Receiver

MISSING_TOKEN = {"message": "Missing Authentication Token"}


def raw_request(url: str, method: str, path: str, headers: dict[str, str] | None = None) -> tuple[int, str, Any]:
    """One request as sent, on a connection of its own: (status, content type, JSON body)."""
    address = urlsplit(url)
    connection = http.client.HTTPConnection(address.netloc, timeout=30)
    try:
        connection.request(method, path, headers=headers or {})
        answer = connection.getresponse()
        body = answer.read()
        return answer.status, answer.getheader("Content-Type") or "", json.loads(body)
    finally:
        connection.close()


def race(threads: list[threading.Thread]) -> None:
    """Runs `threads` to their end with the interpreter switching between them as often as it can, so a race in
    what they call shows up within a test's time."""
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        sys.setswitchinterval(switch)


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "FOO", "get"])
def test_a_method_the_gateway_does_not_route_answers_as_api_gateway_does(client: Client, method: str) -> None:
    for headers in ({}, {"Authorization": f"Token {client.token}"}):
        status, content_type, body = raw_request(client.stack.api_url, method, "/whisperer/hooks/", headers)
        assert (status, content_type, body) == (403, "application/json", MISSING_TOKEN)


def test_every_routed_method_still_reaches_the_api(client: Client) -> None:
    headers = {"Authorization": f"Token {client.token}"}
    assert raw_request(client.stack.api_url, "GET", "/whisperer/hooks/", headers)[0] == 200
    status, content_type, body = raw_request(client.stack.api_url, "GET", "/nowhere/", headers)
    assert (status, content_type, body) == (403, "application/json", MISSING_TOKEN)


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Big": "x" * 100_000},  # one line past http.server's own 64 KB limit
        {"X-Big": "x" * 11_000},  # past API Gateway's 10 KB for the request line and headers together
        {f"X-Many-{i}": "1" for i in range(120)} | {"X-Pad": "x" * 9000},  # past http.server's 100 headers
    ],
    ids=["100KB", "11KB", "120-headers"],
)
def test_oversize_headers_get_a_json_431(local_stack: LocalStackProcess, headers: dict[str, str]) -> None:
    address = urlsplit(local_stack.api_url)
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    request = f"GET /whisperer/hooks/ HTTP/1.1\r\nHost: {address.netloc}\r\n{head}\r\n".encode()
    with socket.create_connection((address.hostname, address.port), timeout=30) as connection:
        connection.sendall(request)
        connection.shutdown(socket.SHUT_WR)  # all sent: the server reads what it needs, then answers
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    head_part, _, body = answer.partition(b"\r\n\r\n")
    assert head_part.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert b"content-type: application/json" in head_part.lower()
    assert json.loads(body) == {"message": "Request Header Fields Too Large"}


def listen_backlog(port: int) -> int:
    """The backlog of the socket listening on 127.0.0.1:port, as `ss` reports it (Send-Q of a listener)."""
    listing = subprocess.run(
        ["ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True, timeout=30, check=True
    ).stdout.split()
    return int(listing[2])


def test_the_api_and_moto_listen_with_a_real_backlog(local_stack: LocalStackProcess) -> None:
    for url in (local_stack.api_url, local_stack.aws_endpoint):
        port = urlsplit(url).port
        assert port is not None
        assert listen_backlog(port) >= 128, url


def test_moto_sqs_survives_concurrent_receives_deletes_and_visibility_changes() -> None:
    """moto's receive iterates a set other requests' threads change; switching threads every microsecond
    made it raise "Set changed size during iteration" within seconds before moto_sqs serialized the calls."""
    from moto.sqs.models import sqs_backends

    moto_sqs.apply()
    backend = sqs_backends["123456789012"]["us-east-1"]
    name = f"race-{uuid.uuid4().hex[:8]}"
    backend.create_queue(name, VisibilityTimeout="600")
    errors: list[BaseException] = []
    received = [0]
    stop_at = time.monotonic() + 8

    def send() -> None:
        while time.monotonic() < stop_at:
            backend.send_message(name, "x")

    def poll(number: int) -> None:
        while time.monotonic() < stop_at:
            try:
                for position, message in enumerate(backend.receive_message(name, 1, 0, 600)):
                    received[0] += 1
                    if (position + number) % 3 == 0:
                        backend.delete_message(name, str(message.receipt_handle))
                    elif (position + number) % 3 == 1:
                        backend.change_message_visibility(name, str(message.receipt_handle), 0)
            except Exception as exc:
                errors.append(exc)

    try:
        senders = [threading.Thread(target=send) for _ in range(2)]
        race(senders + [threading.Thread(target=poll, args=(i,)) for i in range(6)])
    finally:
        backend.delete_queue(name)
    assert received[0] > 0
    assert errors == []


def test_moto_dynamodb_survives_concurrent_updates_of_one_item() -> None:
    """moto's update_item copies an item while other requests change it; switching threads every microsecond
    made it raise "dictionary changed size during iteration" a hundred times in ten seconds before
    moto_dynamodb serialized the requests."""
    from moto.server import create_backend_app

    moto_dynamodb.apply()
    app = create_backend_app("dynamodb")
    table = f"race-{uuid.uuid4().hex[:8]}"
    signature = (
        "AWS4-HMAC-SHA256 Credential=x/20240101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=x"
    )

    def call(client: Any, action: str, body: dict[str, Any]) -> Any:
        headers = {"X-Amz-Target": f"DynamoDB_20120810.{action}", "Authorization": signature}
        return client.post("/", data=json.dumps(body), headers=headers, content_type="application/x-amz-json-1.0")

    key = [{"AttributeName": "k", "KeyType": "HASH"}]
    created = call(
        app.test_client(),
        "CreateTable",
        {
            "TableName": table,
            "KeySchema": key,
            "AttributeDefinitions": [{"AttributeName": "k", "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST",
        },
    )
    assert created.status_code == 200, created.get_data()
    errors: list[Any] = []
    updates = [0]
    stop_at = time.monotonic() + 8

    def update(number: int) -> None:
        client = app.test_client()
        while time.monotonic() < stop_at:
            updates[0] += 1
            body = {
                "TableName": table,
                "Key": {"k": {"S": "one"}},
                "UpdateExpression": f"SET a{number}_{updates[0] % 50} = :v",
                "ExpressionAttributeValues": {":v": {"S": "x"}},
            }
            try:
                answer = call(client, "UpdateItem", body)
            except Exception as exc:
                errors.append(exc)
                continue
            if answer.status_code >= 500:
                errors.append(answer.get_data()[:200])

    try:
        race([threading.Thread(target=update, args=(i,)) for i in range(6)])
    finally:
        call(app.test_client(), "DeleteTable", {"TableName": table})
    assert updates[0] > 0
    assert errors == []


def test_a_long_poll_answers_when_a_message_comes_due(local_stack: LocalStackProcess) -> None:
    """Messages hidden until due (the retry queue's way) come back on time to a waiting long poll."""
    from oms_webhooks_cli.endpoint import Target

    sqs = Target({}, local_stack.aws_endpoint).client("sqs")
    url = sqs.create_queue(QueueName=f"due-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    try:
        sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=2)
        sent = time.monotonic()
        messages: list[dict[str, Any]] = []
        while not messages and time.monotonic() - sent < 60:
            messages = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=20).get("Messages", [])
        assert [m["Body"] for m in messages] == ["later"]
        assert time.monotonic() - sent >= 1.5  # not before it was due (SQS rounds to whole seconds)
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=messages[0]["ReceiptHandle"], VisibilityTimeout=0)
        again = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=20).get("Messages", [])
        assert [m["Body"] for m in again] == ["later"]  # shown again at once when made visible
    finally:
        sqs.delete_queue(QueueUrl=url)


STOP_DEADLINE = 5.0
QUICK_RETRIES = {"choice": "fixed", "kwargs": {"seconds": 1}, "max_retries": 50}


@pytest.mark.parametrize("how", ["SIGINT to the process group", "SIGTERM to the stack", "the test run gone"])
def test_the_stack_stops_every_process_in_time_with_retries_pending_and_deliveries_in_flight(
    tmp_path: Path, how: str
) -> None:
    # Attempts may take 30 s here, so the hanging subscriber's delivery is still in flight when the signal comes.
    stack = start_local_stack(tmp_path, own_session=True, parameters=["DeliveryTotalTimeout=30"])
    receiver = Receiver()
    refused = socket.socket()
    refused.bind(("127.0.0.1", 0))  # bound, never listening: connections refused, as to a receiver gone away
    try:
        with requests.Session() as http:
            client = Client(stack, http)
            dead = [
                client.subscribe(
                    f"http://127.0.0.1:{refused.getsockname()[1]}/gone/{i}", retry_countdown_config=QUICK_RETRIES
                )
                for i in range(5)
            ]
            for i in range(3):
                client.publish("package.created", {"id": i})
            for hook in dead:
                client.wait_for_delivery(hook["id"], lambda d: d["retry_count"] >= 1, timeout=60)
            client.subscribe(receiver.script("/hang", Answer(hang=True)), event_type="package.status.shipped")
            client.publish("package.status.shipped", {"id": 9})
            assert receiver.wait_for("/hang", 1, timeout=60)  # a delivery in flight, for 30 s
        pids = tree(stack.process.pid)
        assert len(pids) >= 2, pids  # the stack and its moto
        signalled = time.monotonic()
        if how.startswith("SIGINT"):
            os.killpg(os.getpgid(stack.process.pid), signal.SIGINT)
        elif how.startswith("SIGTERM"):
            stack.process.send_signal(signal.SIGTERM)
        else:  # a killed test run: the pipe it gave the stack as standard input ends with it
            assert stack.process.stdin is not None
            stack.process.stdin.close()
        while any(alive(pid) for pid in pids) and time.monotonic() - signalled < 30:
            time.sleep(0.05)
            stack.process.poll()  # reaps the stack's own process as soon as it ends
        took = time.monotonic() - signalled
        assert not [pid for pid in pids if alive(pid)], (how, took)
        assert took <= STOP_DEADLINE, (how, took)
        # Every process has ended, but the stack's own may not be reaped yet (`alive` counts a zombie as gone, and
        # the loop can end before its last poll()): wait for its exit status rather than read it.
        assert stack.process.wait(timeout=10) == 0
        assert not (stack.home / "local.json").exists()
        assert "Traceback" not in (stack.home / "stack.log").read_text(errors="replace")  # each thread ended cleanly
    finally:
        receiver.stop()
        refused.close()
        if stack.process.poll() is None:
            stop_local_stack(stack)
