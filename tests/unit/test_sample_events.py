"""The files in events/ are in AWS's real shape: each parses with Powertools' model of its source, and the generated
ones are what tests/events.py makes (tests/integration/test_event_files.py runs each through its function)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from aws_lambda_powertools.utilities.parser.models import (
    ApiGatewayAuthorizerToken,
    APIGatewayProxyEventModel,
    EventBridgeModel,
    SqsModel,
)
from pydantic import BaseModel

from oms_webhooks.adapters.ordered_queue import OrderedMessage
from oms_webhooks.adapters.queues import RetryMessage
from tests.events import EVENTS, sample_files

# Powertools' model of what AWS sends each folder's function; a new folder must be added here.
MODEL_FOR: dict[str, type[BaseModel]] = {
    "api": APIGatewayProxyEventModel,  # REST API, Lambda proxy integration
    "authorizer": ApiGatewayAuthorizerToken,  # a TOKEN authorizer
    "eventbridge": EventBridgeModel,
    "sqs": SqsModel,
    "sqs-fifo": SqsModel,  # the ordered queue's: MessageGroupId and the rest of a FIFO message's attributes
}
FILES = sorted(EVENTS.glob("*/*.json"))


def test_every_folder_has_a_model() -> None:
    assert {p.name for p in EVENTS.iterdir() if p.is_dir()} == set(MODEL_FOR)


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_file_parses_with_the_model_of_its_source(path: Path) -> None:
    MODEL_FOR[path.parent.name].model_validate_json(path.read_text())


@pytest.mark.parametrize("path", sorted(sample_files()), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_generated_file_is_what_the_generator_makes(path: Path) -> None:
    assert path.exists(), f"{path} is missing: run `make events`"
    assert path.read_text() == sample_files()[path], f"{path} differs from tests/events.py: run `make events`"


def test_the_generator_makes_every_api_and_authorizer_file() -> None:
    made = set(sample_files())
    assert {p for p in FILES if p.parent.name in ("api", "authorizer")} == made


def test_api_events_say_when_the_request_came_as_api_gateway_does() -> None:
    """requestTime is the CLF time of requestTimeEpoch, as API Gateway writes both."""
    for path in (EVENTS / "api").glob("*.json"):
        context = APIGatewayProxyEventModel.model_validate_json(path.read_text()).requestContext
        assert context.requestTime == context.requestTimeEpoch.strftime("%d/%b/%Y:%H:%M:%S +0000"), path.name


# What each queue's messages are, as the code that sends them writes them.
MESSAGE_FOR: dict[str, type[BaseModel]] = {"sqs": RetryMessage, "sqs-fifo": OrderedMessage}


@pytest.mark.parametrize("path", sorted(EVENTS.glob("sqs*/*.json")), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_sqs_records_carry_the_md5_of_their_body_and_the_body_the_sender_writes(path: Path) -> None:
    """SQS computes `md5OfBody` from the body it stores, and the body is what queues.py / ordered_queue.py send."""
    message = MESSAGE_FOR[path.parent.name]
    for record in SqsModel.model_validate_json(path.read_text()).Records:
        body = str(record.body)
        assert record.md5OfBody == hashlib.md5(body.encode()).hexdigest(), record.messageId
        assert body == message.model_validate_json(body).model_dump_json(exclude_none=True)
