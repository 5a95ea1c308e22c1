"""`oms-webhooks --stack-name` with $AWS_ENDPOINT_URL: the stack's ApiUrl names an AWS host the emulator is not
behind, so the CLI reaches the API on the emulator's execute-api path instead (no deployment needed here)."""

from __future__ import annotations

from typing import Any

import pytest

from oms_webhooks_cli import endpoint
from oms_webhooks_cli.endpoint import find_target, on_emulator

API_URL = "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/prod/"


def test_an_execute_api_url_is_served_on_the_emulators_path() -> None:
    assert on_emulator(API_URL, "http://127.0.0.1:4566") == "http://127.0.0.1:4566/_aws/execute-api/a1b2c3d4e5/prod/"
    assert on_emulator(API_URL.rstrip("/"), "http://127.0.0.1:4566/") == (
        "http://127.0.0.1:4566/_aws/execute-api/a1b2c3d4e5/prod/"
    )
    assert on_emulator("https://hooks.example.com/prod/", "http://127.0.0.1:4566") == "https://hooks.example.com/prod/"


class _Stacks:
    def describe_stacks(self, StackName: str) -> dict[str, Any]:
        outputs = [{"OutputKey": "ApiUrl", "OutputValue": API_URL}, {"OutputKey": "EventSource", "OutputValue": "oms"}]
        return {"Stacks": [{"StackName": StackName, "Outputs": outputs}]}


def test_a_named_stack_is_reached_where_the_sdk_is_pointed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(endpoint.boto3, "client", lambda service: _Stacks())
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    assert find_target("oms-webhooks").output("ApiUrl") == API_URL  # real AWS: as CloudFormation says
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4599")
    target = find_target("oms-webhooks")
    assert target.output("ApiUrl") == "http://127.0.0.1:4599/_aws/execute-api/a1b2c3d4e5/prod/"
    assert target.output("EventSource") == "oms" and target.stack_name == "oms-webhooks"
