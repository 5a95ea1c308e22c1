"""No event lost on the way in, on the local stack: a dispatcher that keeps failing is retried twice, then its event
goes to DispatchFailedQueue as Lambda's destination record; invoking the dispatcher with it again delivers."""

from __future__ import annotations

import json
import time
from pathlib import Path

import boto3

from oms_webhooks_cli.template import Template
from tests.e2e.conftest import start_local_stack, stop_local_stack
from tests.receiver import Receiver


def test_a_dispatch_that_keeps_failing_parks_the_event_and_its_redrive_delivers_once(tmp_path: Path) -> None:
    stack = start_local_stack(tmp_path)
    receiver = Receiver()
    try:
        aws = {
            "endpoint_url": stack.aws_endpoint,
            "region_name": "us-east-1",
            "aws_access_key_id": "local",
            "aws_secret_access_key": "local",
        }
        dynamodb, sqs = boto3.client("dynamodb", **aws), boto3.client("sqs", **aws)
        token = stack.token("redrive")
        import requests

        hook = requests.post(
            f"{stack.api_url}/whisperer/hooks/",
            headers={"Authorization": f"Token {token}"},
            json={"event_type": "package.created", "target_url": receiver.url("/r")},
            timeout=30,
        )
        assert hook.status_code == 201
        table = stack.outputs["DeliveriesTableName"]
        dynamodb.delete_table(TableName=table)  # every dispatch now fails on its first write

        published = stack.cli("publish", "package.created", "--payload", '{"id": 31}').stdout.strip()
        failed_url = stack.outputs["DispatchFailedQueueUrl"]
        deadline = time.monotonic() + 120  # three invocations, 5 s apart, on a possibly loaded machine
        messages: list[dict] = []
        while not messages and time.monotonic() < deadline:
            messages = sqs.receive_message(QueueUrl=failed_url, WaitTimeSeconds=1).get("Messages", [])
        assert messages, "the failed event never reached DispatchFailedQueue"
        record = json.loads(messages[0]["Body"])
        assert record["requestContext"]["condition"] == "RetriesExhausted"
        assert record["requestContext"]["approximateInvokeCount"] == 3  # the first try and two retries
        assert record["requestPayload"]["id"] == published
        assert receiver.received["/r"] == []

        definition = Template().tables()["DeliveriesTable"]
        definition.pop("_ttl", None)
        dynamodb.create_table(**{**definition, "TableName": table})  # the cause is fixed
        payload = tmp_path / "event.json"
        payload.write_text(json.dumps(record["requestPayload"]))
        first = json.loads(stack.cli("invoke", "DispatcherFunction", "-e", str(payload)).stdout)
        assert first["delivered"] == 1
        again = json.loads(stack.cli("invoke", "DispatcherFunction", "-e", str(payload)).stdout)
        assert again["duplicate"] is True
        assert len(receiver.wait_for("/r", 1, timeout=30)) == 1
        time.sleep(0.5)
        assert len(receiver.received["/r"]) == 1
    finally:
        receiver.stop()
        stop_local_stack(stack)
