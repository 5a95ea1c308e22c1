"""boto3 clients, made once per process and reused across invocations."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

# Lambda's SDK retries with standard mode; a local endpoint (AWS_ENDPOINT_URL) is honoured by boto3 itself.
# Requests are built by this code and covered by its tests; botocore's re-validation of every parameter
# costs milliseconds of CPU per batch call, which a fan-out pays forty times per thousand hooks.
CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, max_pool_connections=50, parameter_validation=False)


@cache
def dynamodb() -> Any:
    return boto3.client("dynamodb", config=CONFIG)


@cache
def sqs() -> Any:
    return boto3.client("sqs", config=CONFIG)
