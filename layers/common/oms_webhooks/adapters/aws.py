"""AWS clients, made once per process and reused across invocations.

Plain botocore rather than boto3: boto3 adds nothing used here and ~50 ms of imports to every cold start.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from botocore.config import Config
from botocore.session import get_session

from oms_webhooks.adapters import dynamodb_json

# Lambda's SDK retries with standard mode; a local endpoint (AWS_ENDPOINT_URL) is honoured by botocore itself.
# Requests are built by this code and covered by its tests; botocore's re-validation of every parameter
# costs milliseconds of CPU per batch call, which a fan-out pays forty times per thousand hooks.
CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, max_pool_connections=50, parameter_validation=False)


@cache
def _session() -> Any:
    return get_session()


@cache
def dynamodb() -> Any:
    return dynamodb_json.install(_session().create_client("dynamodb", config=CONFIG))


@cache
def sqs() -> Any:
    return _session().create_client("sqs", config=CONFIG)


@cache
def events() -> Any:
    return _session().create_client("events", config=CONFIG)


class DynamoDBTable:
    """A table and the client that reaches it: the process's own, unless one is given (the CLI, tests)."""

    def __init__(self, table: str, client: Any = None) -> None:
        self.table = table
        self._client = client

    @property
    def client(self) -> Any:
        return self._client or dynamodb()
