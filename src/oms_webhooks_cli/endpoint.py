"""Where the CLI finds the stack it talks to: a running local stack's state file, or a deployed stack's outputs."""

from __future__ import annotations

import json
import os
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


def find_target(stack_name: str | None = None) -> Target:
    """A named stack is looked up on AWS; otherwise the local stack started by `oms-webhooks local`."""
    if stack_name:
        stacks = boto3.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
        return Target({o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}, stack_name=stack_name)
    path = state_file()
    if not path.exists():
        raise LookupError(
            f"no local stack is running (no {path}); start one with `make run`, "
            "or name a deployed stack with --stack-name"
        )
    state = json.loads(path.read_text())
    return Target(state["outputs"], state["aws_endpoint"], state["stack_name"], state.get("parameters", {}))
