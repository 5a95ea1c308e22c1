"""DynamoDB request bodies by json.dumps: the same request botocore's serializer makes, byte for byte."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.session import get_session

from oms_webhooks.adapters import dynamodb_json
from oms_webhooks.adapters.aws import CONFIG
from oms_webhooks.adapters.delivery_items import delivery_item
from oms_webhooks.adapters.dynamodb_json import ITEM_OPERATIONS, ItemJsonSerializer
from oms_webhooks.domain.deliveries import Attempt, Delivery

NOW = datetime(2026, 12, 5, 13, 40, 1, 123456, tzinfo=UTC)
RECORD = delivery_item(
    Delivery(
        uuid="0" * 31 + "1",
        owner="acme",
        webhook=7,
        event_id="e" * 36,
        event_type="package.created",
        request_payload=None,
        target_url="https://example.com/hook?ü=1",
        status="delivered",
        retry_count=1,
        attempts=[
            Attempt(
                at=NOW,
                status_code=200,
                duration=0.0123,
                request_headers={"X-Whisperer-Signature": "sha256=" + "f" * 64, "webhook-id": "0" * 31 + "1"},
                response_headers={"Content-Type": "text/plain; charset=utf-8"},
                response_content='ok "quoted" \u2603',
            )
        ],
        created_date=NOW,
        modified_date=NOW,
        expires_at=1_800_000_000,
        payload_claim="e" * 36,
    )
)
EVERY_TYPE = {
    "s": {"S": "snow \u2603 and \x00 control"},
    "n": {"N": "-12.5e3"},
    "b": {"B": bytes(range(256))},
    "bool": {"BOOL": False},
    "null": {"NULL": True},
    "ss": {"SS": ["a", "b"]},
    "ns": {"NS": ["1", "2"]},
    "bs": {"BS": [b"\x00\xff", bytearray(b"\x01")]},
    "l": {"L": [{"S": "x"}, {"M": {"inner": {"B": b"\x02"}}}]},
}
REQUESTS: list[tuple[str, dict[str, Any]]] = [
    ("BatchWriteItem", {"RequestItems": {"deliveries": [{"PutRequest": {"Item": RECORD}}] * 25}}),
    ("PutItem", {"TableName": "t", "Item": {"uuid": {"S": "EVENT#1"}, **EVERY_TYPE}, "ConditionExpression": "x"}),
    (
        "UpdateItem",
        {
            "TableName": "t",
            "Key": {"uuid": {"S": "k"}},
            "UpdateExpression": "ADD places :p SET m = :m",
            "ExpressionAttributeNames": {"#s": "status"},
            "ExpressionAttributeValues": {":p": {"SS": ["1:a"]}, ":m": {"M": EVERY_TYPE}},
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        },
    ),
    ("GetItem", {"TableName": "t", "Key": {"uuid": {"S": "k"}}, "ConsistentRead": True}),
    ("DeleteItem", {"TableName": "t", "Key": {"uuid": {"S": "k"}}}),
    ("BatchGetItem", {"RequestItems": {"t": {"Keys": [{"uuid": {"S": "a"}}], "ProjectionExpression": "#u"}}}),
    (
        "Query",
        {
            "TableName": "t",
            "IndexName": "ByHook",
            "KeyConditionExpression": "webhook = :h",
            "ExpressionAttributeValues": {":h": {"N": "7"}},
            "ExclusiveStartKey": {"uuid": {"S": "a"}, "webhook": {"N": "7"}},
            "Limit": 10,
            "ScanIndexForward": False,
        },
    ),
    (
        "TransactWriteItems",
        {
            "TransactItems": [
                {"Put": {"TableName": "t", "Item": {"uuid": {"S": "a"}, "b": {"B": b"\x00"}}}},
                {"ConditionCheck": {"TableName": "t", "Key": {"uuid": {"S": "b"}}, "ConditionExpression": "x"}},
            ]
        },
    ),
    ("TransactGetItems", {"TransactItems": [{"Get": {"TableName": "t", "Key": {"uuid": {"S": "a"}}}}]}),
]


@pytest.fixture(scope="module")
def client() -> Any:
    """As the process makes its own (aws.CONFIG: botocore's parameter validation off)."""
    return get_session().create_client(
        "dynamodb", region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s", config=CONFIG
    )


@pytest.mark.parametrize(("operation", "parameters"), REQUESTS, ids=[name for name, _ in REQUESTS])
def test_an_item_operation_is_the_request_botocore_makes(client: Any, operation: str, parameters: dict) -> None:
    model = client.meta.service_model.operation_model(operation)
    made = ItemJsonSerializer(client._serializer).serialize_to_request(parameters, model)
    assert made == client._serializer.serialize_to_request(parameters, model)


def test_every_item_operation_is_tested() -> None:
    assert {name for name, _ in REQUESTS} == ITEM_OPERATIONS


def test_other_operations_are_botocores_own(client: Any) -> None:
    model = client.meta.service_model.operation_model("RestoreTableToPointInTime")  # a timestamp in its input
    parameters = {"SourceTableName": "a", "TargetTableName": "b", "RestoreDateTime": NOW}
    made = ItemJsonSerializer(client._serializer).serialize_to_request(parameters, model)
    assert made == client._serializer.serialize_to_request(parameters, model)
    assert f'"RestoreDateTime": {NOW.timestamp()}'.encode() in made["body"]  # botocore's own timestamp form


def test_a_value_dynamodb_has_no_type_for_is_refused(client: Any) -> None:
    model = client.meta.service_model.operation_model("PutItem")
    with pytest.raises(TypeError, match="set is not a DynamoDB value"):
        ItemJsonSerializer(client._serializer).serialize_to_request({"Item": {"a": {"SS": {"x"}}}}, model)


def test_installed_once_on_a_client() -> None:
    client = get_session().create_client("dynamodb", region_name="us-east-1", config=CONFIG)
    dynamodb_json.install(client)
    dynamodb_json.install(client)
    assert isinstance(client._serializer, ItemJsonSerializer)
    assert not isinstance(client._serializer.botocore, ItemJsonSerializer)
