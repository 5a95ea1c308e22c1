"""template.yaml is ready to run unattended: logs kept, alarms on every queue of last resort, a dashboard of the
service's metrics, nothing lost when a dispatch fails, and each function allowed only its own tables and queues."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from oms_webhooks import telemetry
from oms_webhooks_cli.template import Template

TEMPLATE = Template(stack_name="oms-webhooks")
RESOURCES = TEMPLATE.resources
FUNCTIONS = TEMPLATE.of_type("AWS::Serverless::Function")
ALARMS = TEMPLATE.of_type("AWS::CloudWatch::Alarm")


def refs(value: Any) -> set[str]:
    """Every logical id or parameter a (raw) value refers to, through Ref, GetAtt and Sub."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= refs(item)
    elif isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref":
                found.add(inner)
            elif key == "Fn::GetAtt":
                found.add(inner[0])
            elif key == "Fn::Sub":
                text = inner[0] if isinstance(inner, list) else inner
                found |= {name.split(".")[0] for name in re.findall(r"\$\{([^!}][^}]*)\}", text)}
                if isinstance(inner, list):
                    found |= refs(inner[1])
            else:
                found |= refs(inner)
    return found


def queues_of_last_resort() -> set[str]:
    """Dead-letter queues of the queues, of the EventBridge rules, and on-failure destinations."""
    found = set()
    for queue in TEMPLATE.of_type("AWS::SQS::Queue").values():
        found |= refs(queue["Properties"].get("RedrivePolicy", {}).get("deadLetterTargetArn"))
    for function in FUNCTIONS.values():
        props = function["Properties"]
        for event in props.get("Events", {}).values():
            found |= refs(event["Properties"].get("DeadLetterConfig", {}))
        found |= refs(props.get("EventInvokeConfig", {}).get("DestinationConfig", {}))
    return found


def test_every_queue_of_last_resort_alarms_as_soon_as_it_holds_a_message() -> None:
    last_resort = queues_of_last_resort()
    assert last_resort == {
        "RetryDeadLetterQueue",
        "FanoutDeadLetterQueue",
        "DispatchFailedQueue",
        "EventsDeadLetterQueue",
    }
    alarmed = {
        next(iter(refs(alarm["Properties"]["Dimensions"])))
        for alarm in ALARMS.values()
        if alarm["Properties"]["MetricName"] == "ApproximateNumberOfMessagesVisible"
        and alarm["Properties"]["Threshold"] == 0
        and alarm["Properties"]["ComparisonOperator"] == "GreaterThanThreshold"
    }
    assert alarmed == last_resort


def test_the_retry_queue_alarms_on_age_above_the_parameter() -> None:
    [alarm] = [
        a["Properties"] for a in ALARMS.values() if a["Properties"]["MetricName"] == "ApproximateAgeOfOldestMessage"
    ]
    assert refs(alarm["Dimensions"]) == {"RetryQueue"}
    assert alarm["Threshold"] == {"Ref": "RetryQueueAgeAlarmSeconds"}
    assert TEMPLATE.parameters["RetryQueueAgeAlarmSeconds"] == "86400"


def test_every_function_has_its_log_group_with_the_retention_and_an_errors_alarm() -> None:
    errors_alarmed = {
        next(iter(refs(a["Properties"]["Dimensions"])))
        for a in ALARMS.values()
        if a["Properties"]["MetricName"] == "Errors" and a["Properties"]["Namespace"] == "AWS/Lambda"
    }
    assert errors_alarmed == set(FUNCTIONS)
    for lid, function in FUNCTIONS.items():
        props = function["Properties"]
        [group_id] = refs(props["LoggingConfig"]["LogGroup"])
        group = RESOURCES[group_id]
        assert group["Type"] == "AWS::Logs::LogGroup"
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
        name = TEMPLATE.resolve(props["FunctionName"])
        assert TEMPLATE.resolve(group["Properties"]["LogGroupName"]) == f"/aws/lambda/{name}", lid
        assert name.startswith("oms-webhooks-")


def test_alarms_notify_the_topic_only_when_one_is_given() -> None:
    for lid, alarm in ALARMS.items():
        for key in ("AlarmActions", "OKActions"):
            action = alarm["Properties"][key]
            assert action == {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]}, lid
        assert alarm["Properties"]["TreatMissingData"] == "notBreaching"
        assert TEMPLATE.resolve(alarm["Properties"]["AlarmName"]).startswith("oms-webhooks-")


def test_the_dashboard_shows_the_service_metrics_queues_and_functions() -> None:
    [dashboard] = TEMPLATE.of_type("AWS::CloudWatch::Dashboard").values()
    body_text = dashboard["Properties"]["DashboardBody"]["Fn::Sub"]
    body = json.loads(TEMPLATE.resolve({"Fn::Sub": body_text}))  # valid JSON once substituted
    metrics = [metric for widget in body["widgets"] for metric in widget["properties"]["metrics"]]
    named = {name for metric in metrics for name in metric if isinstance(name, str)}
    assert set(telemetry.METRIC_NAMES) <= named
    assert telemetry.NAMESPACE in named and telemetry.SERVICE in named
    assert {"Errors", "Duration", "Throttles", "ApproximateAgeOfOldestMessage"} <= named
    referenced = refs(dashboard["Properties"]["DashboardBody"])
    assert set(FUNCTIONS) <= referenced
    assert set(TEMPLATE.of_type("AWS::SQS::Queue")) <= referenced


def test_a_failed_dispatch_lands_in_a_queue_after_two_retries() -> None:
    config = FUNCTIONS["DispatcherFunction"]["Properties"]["EventInvokeConfig"]
    assert config["MaximumRetryAttempts"] == 2
    on_failure = config["DestinationConfig"]["OnFailure"]
    assert on_failure["Type"] == "SQS" and refs(on_failure["Destination"]) == {"DispatchFailedQueue"}


def test_the_api_is_throttled_by_the_parameters() -> None:
    [setting] = TEMPLATE.api()["MethodSettings"]
    assert (setting["ResourcePath"], setting["HttpMethod"]) == ("/*", "*")
    assert setting["ThrottlingRateLimit"] == {"Ref": "ThrottlingRateLimit"}
    assert setting["ThrottlingBurstLimit"] == {"Ref": "ThrottlingBurstLimit"}


def test_data_at_rest_is_encrypted() -> None:
    for lid, queue in TEMPLATE.of_type("AWS::SQS::Queue").items():
        assert queue["Properties"]["SqsManagedSseEnabled"] is True, lid
    for lid, table in TEMPLATE.of_type("AWS::DynamoDB::Table").items():
        assert table["Properties"]["SSESpecification"]["SSEEnabled"] is True, lid


TABLES = set(TEMPLATE.of_type("AWS::DynamoDB::Table"))
QUEUES = set(TEMPLATE.of_type("AWS::SQS::Queue"))
USES = {  # what each function's code reaches (wiring.py, settings.py): nothing else may be granted
    "AuthorizerFunction": {"TokensTable"},
    "ApiFunction": {"HooksTable", "DeliveriesTable", "RetryQueue"},
    "DispatcherFunction": {"HooksTable", "DeliveriesTable", "RetryQueue", "FanoutQueue", "DispatchFailedQueue"},
    "RetrierFunction": {"HooksTable", "DeliveriesTable", "RetryQueue"},
    "FanoutFunction": {"HooksTable", "DeliveriesTable", "RetryQueue", "FanoutQueue"},
}


def granted(function: str) -> tuple[set[str], list[dict[str, Any]]]:
    """The tables and queues a function's permissions name, and its raw statements."""
    props = FUNCTIONS[function]["Properties"]
    statements: list[dict[str, Any]] = []
    named = set()
    if "Role" in props:
        [role_id] = refs(props["Role"])
        for policy in RESOURCES[role_id]["Properties"]["Policies"]:
            statements += policy["PolicyDocument"]["Statement"]
    for policy in props.get("Policies", []):
        statements += policy.get("Statement", [])
        named |= refs({k: v for k, v in policy.items() if k != "Statement"})
    for statement in statements:
        named |= refs(statement["Resource"])
    named |= refs(props.get("EventInvokeConfig", {}))  # SAM grants sqs:SendMessage to the destination
    for event in props.get("Events", {}).values():
        named |= refs(event["Properties"].get("Queue"))  # SAM grants the poller (or our role does)
    return named & (TABLES | QUEUES), statements


@pytest.mark.parametrize("function", sorted(USES))
def test_each_function_is_allowed_only_its_own_tables_and_queues(function: str) -> None:
    named, statements = granted(function)
    assert named == USES[function]
    for statement in statements:
        assert statement["Resource"] != "*" and "*" not in statement["Resource"], statement


@pytest.mark.parametrize("function", ["RetrierFunction", "FanoutFunction"])
def test_functions_behind_sqs_have_roles_that_name_their_queue(function: str) -> None:
    """SAM would attach AWSLambdaSQSQueueExecutionRole (every queue, Resource "*") to their generated roles."""
    props = FUNCTIONS[function]["Properties"]
    assert "Policies" not in props
    [role_id] = refs(props["Role"])
    role = RESOURCES[role_id]["Properties"]
    assert role["ManagedPolicyArns"]["Fn::If"][0] == "TracingEnabled"  # X-Ray only when tracing is on
    actions = {
        action
        for policy in role["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    }
    assert "dynamodb:Scan" not in actions  # no code path scans a table
    assert {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"} <= actions


def test_tracing_is_one_switch_for_functions_and_api() -> None:
    globals_ = TEMPLATE.doc["Globals"]["Function"]
    assert globals_["Tracing"] == {"Fn::If": ["TracingEnabled", "Active", "PassThrough"]}
    assert TEMPLATE.parameters["EnableTracing"] == "false"
    assert TEMPLATE.api()["TracingEnabled"] == {"Fn::If": ["TracingEnabled", True, False]}


def test_outputs_name_what_operators_look_for() -> None:
    outputs = TEMPLATE.doc["Outputs"]
    expected = {"ApiUrl", "EventBusName", "HooksTableName", "TokensTableName", "DeliveriesTableName", "DashboardName"}
    expected |= {f"{queue}Url" for queue in QUEUES}
    assert expected <= set(outputs)
    assert {name: TEMPLATE.resolve(spec["Value"]) for name, spec in outputs.items()}["DashboardName"] == "oms-webhooks"
