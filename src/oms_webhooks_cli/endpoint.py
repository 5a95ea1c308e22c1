"""Where the CLI finds the stack it talks to: a running local stack's state file, or a deployed stack's outputs."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3


def state_dir() -> Path:
    return Path(os.environ.get("OMS_WEBHOOKS_HOME") or Path.home() / ".oms-webhooks")


def state_file() -> Path:
    return state_dir() / "local.json"


@dataclass(frozen=True)
class Target:
    """A stack's outputs, and the AWS endpoint to reach it (None means real AWS)."""

    outputs: dict[str, str]
    aws_endpoint: str | None = None
    stack_name: str | None = None
    parameters: dict[str, str] = field(default_factory=dict)  # the local stack's template parameter overrides

    def client(self, service: str) -> Any:
        if self.aws_endpoint:
            return boto3.client(
                service,
                endpoint_url=self.aws_endpoint,
                region_name="us-east-1",
                aws_access_key_id="local",
                aws_secret_access_key="local",
            )
        return boto3.client(service)

    def output(self, name: str) -> str:
        if name not in self.outputs:
            raise LookupError(f"the stack has no output {name!r}")
        return self.outputs[name]


# The ApiUrl output: https://<api id>.execute-api.<region>.<suffix>/<stage>/
_EXECUTE_API_URL = re.compile(r"^https://(?P<api>[a-z0-9]+)\.execute-api\.[a-z0-9-]+\.[a-z0-9.]+/(?P<stage>[^/]+)/?$")


def on_emulator(api_url: str, aws_endpoint: str) -> str:
    """A deployed stack's ApiUrl as an AWS emulator serves it: `<endpoint>/_aws/execute-api/<api id>/<stage>/`
    (the path MiniStack and LocalStack both answer on, since the AWS host name does not lead to them)."""
    match = _EXECUTE_API_URL.match(api_url)
    if not match:
        return api_url
    return f"{aws_endpoint.rstrip('/')}/_aws/execute-api/{match['api']}/{match['stage']}/"


def find_target(stack_name: str | None = None) -> Target:
    """A named stack is looked up on AWS (or on the emulator $AWS_ENDPOINT_URL names, as every AWS SDK does);
    otherwise the local stack started by `oms-webhooks local`."""
    if stack_name:
        stacks = boto3.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
        emulator = os.environ.get("AWS_ENDPOINT_URL")
        if emulator and "ApiUrl" in outputs:
            outputs["ApiUrl"] = on_emulator(outputs["ApiUrl"], emulator)
        return Target(outputs, stack_name=stack_name)
    path = state_file()
    if not path.exists():
        raise LookupError(
            f"no local stack is running (no {path}); start one with `make run`, "
            "or name a deployed stack with --stack-name"
        )
    state = json.loads(path.read_text())
    return Target(state["outputs"], state["aws_endpoint"], state["stack_name"], state.get("parameters", {}))
