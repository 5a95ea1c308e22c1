"""template.yaml is ready to run unattended: logs kept, alarms on every queue of last resort, a dashboard of the
service's metrics, nothing lost when a dispatch fails, and each function allowed only its own tables and queues."""

from __future__ import annotations

import json
import re
from pathlib import Path
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


def test_the_retry_and_ordered_queues_alarm_on_age() -> None:
    ages = {
        next(iter(refs(a["Properties"]["Dimensions"]))): a["Properties"]
        for a in ALARMS.values()
        if a["Properties"]["MetricName"] == "ApproximateAgeOfOldestMessage"
    }
    assert set(ages) == {"RetryQueue", "OrderedQueue"}
    assert ages["RetryQueue"]["Threshold"] == {"Ref": "RetryQueueAgeAlarmSeconds"}
    assert TEMPLATE.parameters["RetryQueueAgeAlarmSeconds"] == "86400"
    retention = TEMPLATE.resources["OrderedQueue"]["Properties"]["MessageRetentionPeriod"]
    assert 7 * 86400 < ages["OrderedQueue"]["Threshold"] < retention  # before SQS would drop a message


def test_the_ordered_queue_is_a_high_throughput_fifo_queue_without_a_dead_letter_queue() -> None:
    """A dead-letter queue would take a message out of its object's queue and let those behind it go on."""
    props = TEMPLATE.resources["OrderedQueue"]["Properties"]
    assert props["FifoQueue"] is True and props["ContentBasedDeduplication"] is False
    assert (props["DeduplicationScope"], props["FifoThroughputLimit"]) == ("messageGroup", "perMessageGroupId")
    assert props["MessageRetentionPeriod"] == 1209600 and "RedrivePolicy" not in props
    [event] = FUNCTIONS["SequencerFunction"]["Properties"]["Events"].values()
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["VisibilityTimeout"] >= 6 * FUNCTIONS["SequencerFunction"]["Properties"]["Timeout"]


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


KEY = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
WITH_KEY = Template(stack_name="oms-webhooks", parameters={"KmsKeyArn": KEY})


def test_data_at_rest_is_encrypted_with_aws_managed_keys_by_default() -> None:
    assert TEMPLATE.parameters["KmsKeyArn"] == ""
    for lid, queue in TEMPLATE.of_type("AWS::SQS::Queue").items():
        props = TEMPLATE.resolve(queue["Properties"])
        assert props["SqsManagedSseEnabled"] is True and "KmsMasterKeyId" not in props, lid
    for lid, table in TEMPLATE.of_type("AWS::DynamoDB::Table").items():
        sse = TEMPLATE.resolve(table["Properties"]["SSESpecification"])
        assert sse == {"SSEEnabled": True, "SSEType": "KMS"}, lid  # DynamoDB's AWS managed key
    for lid, group in TEMPLATE.of_type("AWS::Logs::LogGroup").items():
        assert "KmsKeyId" not in TEMPLATE.resolve(group["Properties"]), lid
    assert TEMPLATE.resolve(TEMPLATE.doc["Globals"]["Function"]).get("KmsKeyArn") is None
    assert not TEMPLATE.condition("HasKmsKey")


def test_a_customer_managed_key_encrypts_every_table_queue_log_group_and_environment() -> None:
    for lid, queue in WITH_KEY.of_type("AWS::SQS::Queue").items():
        props = WITH_KEY.resolve(queue["Properties"])
        assert props["KmsMasterKeyId"] == KEY and "SqsManagedSseEnabled" not in props, lid
    for lid, table in WITH_KEY.of_type("AWS::DynamoDB::Table").items():
        sse = WITH_KEY.resolve(table["Properties"]["SSESpecification"])
        assert sse == {"SSEEnabled": True, "SSEType": "KMS", "KMSMasterKeyId": KEY}, lid
    groups = WITH_KEY.of_type("AWS::Logs::LogGroup")
    assert "ApiAccessLogGroup" in groups
    for lid, group in groups.items():
        assert WITH_KEY.resolve(group["Properties"])["KmsKeyId"] == KEY, lid
    assert WITH_KEY.resolve(WITH_KEY.doc["Globals"]["Function"])["KmsKeyArn"] == KEY


def test_every_function_may_use_the_key_only_when_there_is_one() -> None:
    """SQS senders and receivers and DynamoDB callers need the key's data keys; the policy names that key alone."""
    policy = RESOURCES["KmsKeyUsePolicy"]
    assert policy["Condition"] == "HasKmsKey"
    [statement] = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Resource"] == {"Ref": "KmsKeyArn"}
    assert {"kms:Decrypt", "kms:GenerateDataKey*"} <= set(statement["Action"])
    policy_arn = WITH_KEY.resolve({"Ref": "KmsKeyUsePolicy"})
    for lid, function in FUNCTIONS.items():
        props = function["Properties"]
        if "Role" in props:
            [role_id] = refs(props["Role"])
            attached = RESOURCES[role_id]["Properties"]["ManagedPolicyArns"]
        else:
            attached = props["Policies"]
        assert policy_arn in WITH_KEY.resolve(attached), lid
        assert "KmsKeyUsePolicy" not in json.dumps(TEMPLATE.resolve(attached)), lid


def test_the_api_writes_access_logs_to_a_log_group_with_the_retention() -> None:
    api = TEMPLATE.api()
    setting = api["AccessLogSetting"]
    assert refs(setting["DestinationArn"]) == {"ApiAccessLogGroup"}
    record = json.loads(setting["Format"])  # one JSON object per request
    assert {"requestId", "ip", "httpMethod", "path", "status", "owner", "authorizerError"} <= set(record)
    group = RESOURCES["ApiAccessLogGroup"]["Properties"]
    assert group["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    # API Gateway logs through its account's CloudWatch role: set by the stack before the stage, kept on delete.
    assert RESOURCES["WebhooksApi"]["DependsOn"] == "ApiGatewayAccountReady"
    assert refs(RESOURCES["ApiGatewayAccount"]["Properties"]["CloudWatchRoleArn"]) == {"ApiGatewayCloudWatchRole"}
    assert RESOURCES["ApiGatewayCloudWatchRole"]["DeletionPolicy"] == "Retain"


SECOND_STACK = Template(stack_name="oms-webhooks-staging", parameters={"SetApiGatewayAccountRole": "false"})


def test_only_the_first_stack_of_an_account_sets_api_gateways_cloudwatch_role() -> None:
    """The role is account-wide: a second stack beside the first (staging beside prod) leaves it to the first."""
    assert TEMPLATE.parameters["SetApiGatewayAccountRole"] == "true"
    conditional = {lid for lid, r in RESOURCES.items() if r.get("Condition") == "SetsApiGatewayAccountRole"}
    assert conditional == {"ApiGatewayCloudWatchRole", "ApiGatewayAccount"}
    assert TEMPLATE.condition("SetsApiGatewayAccountRole")
    assert not SECOND_STACK.condition("SetsApiGatewayAccountRole")
    # The stage waits for the setting where the stack makes it, and for nothing where it does not: DependsOn may not
    # name a resource that is not created, so the API depends on a handle whose Metadata refers to it, or to nothing.
    ready = RESOURCES["ApiGatewayAccountReady"]
    assert ready["Type"] == "AWS::CloudFormation::WaitConditionHandle" and "Condition" not in ready
    assert TEMPLATE.resolve(ready["Metadata"]) == {"ApiGatewayAccount": TEMPLATE.physical_name("ApiGatewayAccount")}
    assert SECOND_STACK.resolve(ready["Metadata"]) == {}


SKIPPED_CHECKS = {  # checkov findings stated as choices, with their reasons in the template
    **{lid: {"CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117"} for lid in FUNCTIONS},  # concurrency cap, DLQ, VPC
    "WebhooksApi": {"CKV_AWS_120", "CKV_AWS_73"},  # caching, X-Ray (a parameter)
    "OperationalEventsSnsTopic": {"CKV_AWS_26"},  # KMS only with KmsKeyArn: EventBridge cannot use SNS's own key
    "DeliveriesTable": {"CKV_AWS_28"},  # point-in-time recovery on by default, off by a parameter
}


def test_checkov_skips_are_the_stated_choices_each_with_a_one_line_reason() -> None:
    skipped: dict[str, set[str]] = {}
    for lid, resource in RESOURCES.items():
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
            assert re.fullmatch(r"CKV_AWS_\d+", skip["id"]), (lid, skip)
            comment = skip["comment"]
            assert isinstance(comment, str) and 20 <= len(comment) <= 120 and "\n" not in comment, (lid, skip)
            skipped.setdefault(lid, set()).add(skip["id"])
    assert skipped == SKIPPED_CHECKS


TABLES = set(TEMPLATE.of_type("AWS::DynamoDB::Table"))
QUEUES = set(TEMPLATE.of_type("AWS::SQS::Queue"))
USES = {  # what each function's code reaches (wiring.py, settings.py): nothing else may be granted
    "AuthorizerFunction": {"TokensTable", "PortalSessionsTable"},
    "ApiFunction": {"HooksTable", "DeliveriesTable", "PortalSessionsTable", "RetryQueue", "OrderedQueue"},
    "DispatcherFunction": {
        "HooksTable",
        "DeliveriesTable",
        "RetryQueue",
        "FanoutQueue",
        "OrderedQueue",
        "DispatchFailedQueue",
    },
    "RetrierFunction": {"HooksTable", "DeliveriesTable", "RetryQueue"},
    "FanoutFunction": {"HooksTable", "DeliveriesTable", "RetryQueue", "FanoutQueue", "OrderedQueue"},
    "SequencerFunction": {"HooksTable", "DeliveriesTable", "OrderedQueue", "RetryQueue"},
    "ConsoleFunction": set(),  # serves its own bundled files only
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


@pytest.mark.parametrize("function", ["RetrierFunction", "FanoutFunction", "SequencerFunction"])
def test_functions_behind_sqs_have_roles_that_name_their_queue(function: str) -> None:
    """SAM would attach AWSLambdaSQSQueueExecutionRole (every queue, Resource "*") to their generated roles."""
    props = FUNCTIONS[function]["Properties"]
    assert "Policies" not in props
    [role_id] = refs(props["Role"])
    role = RESOURCES[role_id]["Properties"]
    xray = "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess"  # X-Ray only when tracing is on
    assert xray not in TEMPLATE.resolve(role["ManagedPolicyArns"])
    assert xray in Template(parameters={"EnableTracing": "true"}).resolve(role["ManagedPolicyArns"])
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


def test_the_api_routes_exactly_the_methods_it_serves_and_never_any() -> None:
    """Explicit methods, so an unknown one gets API Gateway's 403 before the authorizer (and emulators that do not
    import `x-amazon-apigateway-any-method` route the API at all)."""
    openapi = json.loads((Path(TEMPLATE.path).parent / "docs" / "openapi.json").read_text())
    served = {method.upper() for operations in openapi["paths"].values() for method in operations}
    api_events = [
        event["Properties"]
        for lid, function in FUNCTIONS.items()
        if lid != "ConsoleFunction"  # the console's static files: GET only, see tests/browser/test_console_serving.py
        for event in function["Properties"].get("Events", {}).values()
        if event["Type"] == "Api"
    ]
    methods = [props["Method"].upper() for props in api_events]
    assert "ANY" not in methods
    assert sorted(methods) == sorted(served)  # each once
    assert {props["Path"] for props in api_events} == {"/whisperer/{proxy+}"}
    assert all(path.startswith("/whisperer/") for path in openapi["paths"])


def test_queue_driven_functions_have_a_concurrency_bound_that_leaves_the_dispatcher_room() -> None:
    """Retries and fan-out batches can never take the account's whole Lambda concurrency (1,000 by default) from
    the dispatcher's first attempts: each SQS event source has ScalingConfig.MaximumConcurrency, a parameter."""
    parameters = TEMPLATE.doc["Parameters"]
    bounds = {}
    for name, function in FUNCTIONS.items():
        for event in function["Properties"].get("Events", {}).values():
            if event["Type"] == "SQS":
                bound = event["Properties"]["ScalingConfig"]["MaximumConcurrency"]
                bounds[name] = parameters[bound["Ref"]]
    assert set(bounds) == {"RetrierFunction", "FanoutFunction", "SequencerFunction"}
    for parameter in bounds.values():
        assert 2 <= parameter["MinValue"] <= parameter["Default"] <= parameter["MaxValue"] <= 1000
    assert sum(p["Default"] for p in bounds.values()) <= 100  # at least 900 of the default 1,000 stay free


OPERATIONAL_TYPES = [
    "whisperer.delivery.exhausted",
    "whisperer.hook.disabled",
    "whisperer.hook.circuit_opened",
    "whisperer.hook.circuit_closed",
]


def test_operational_events_reach_the_dispatcher_and_every_function_that_emits_them_may_put_them() -> None:
    from oms_webhooks.domain.operational_events import OPERATIONAL_EVENT_TYPES, OPERATIONAL_SOURCE

    assert list(OPERATIONAL_EVENT_TYPES) == OPERATIONAL_TYPES
    rule = FUNCTIONS["DispatcherFunction"]["Properties"]["Events"]["OperationalEvents"]["Properties"]
    assert rule["Pattern"] == {"source": [OPERATIONAL_SOURCE], "detail-type": OPERATIONAL_TYPES}
    assert TEMPLATE.resolve(rule["EventBusName"]) == TEMPLATE.resolve({"Ref": "EventBus"})
    oms = FUNCTIONS["DispatcherFunction"]["Properties"]["Events"]["OmsEvents"]["Properties"]["Pattern"]
    assert not set(oms["detail-type"]) & set(OPERATIONAL_TYPES)  # the OMS's source cannot name an owner
    assert TEMPLATE.doc["Globals"]["Function"]["Environment"]["Variables"]["EVENT_BUS_NAME"] == {"Ref": "EventBus"}
    for function in ("ApiFunction", "DispatcherFunction", "RetrierFunction", "FanoutFunction"):
        props = FUNCTIONS[function]["Properties"]
        sam = [p["EventBridgePutEventsPolicy"] for p in props.get("Policies", []) if "EventBridgePutEventsPolicy" in p]
        own = [
            s
            for policy in (RESOURCES[refs(props["Role"]).pop()]["Properties"]["Policies"] if "Role" in props else [])
            for s in policy["PolicyDocument"]["Statement"]
            if s["Action"] == "events:PutEvents"
        ]
        assert sam == [{"EventBusName": {"Ref": "EventBus"}}] or [s["Resource"] for s in own] == [
            {"Fn::GetAtt": ["EventBus", "Arn"]}
        ], function


def test_the_operators_topic_is_off_by_default_and_on_gets_every_operational_event() -> None:
    made = {"OperationalEventsSnsTopic", "OperationalEventsTopicPolicy", "OperationalEventsToTopic"}
    assert TEMPLATE.parameters["OperationalEventsTopic"] == "false"
    assert {lid for lid, r in RESOURCES.items() if r.get("Condition") == "HasOperationalEventsTopic"} == made
    assert not TEMPLATE.condition("HasOperationalEventsTopic")
    assert Template(parameters={"OperationalEventsTopic": "true"}).condition("HasOperationalEventsTopic")
    rule = RESOURCES["OperationalEventsToTopic"]["Properties"]
    assert rule["EventPattern"] == {"source": ["oms.webhooks"]}
    assert rule["Targets"][0]["Arn"] == {"Ref": "OperationalEventsSnsTopic"}
    [statement] = RESOURCES["OperationalEventsTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"} and statement["Action"] == "sns:Publish"
    assert statement["Condition"]["ArnEquals"]["aws:SourceArn"] == {"Fn::GetAtt": ["OperationalEventsToTopic", "Arn"]}
    assert TEMPLATE.doc["Outputs"]["OperationalEventsTopicArn"]["Condition"] == "HasOperationalEventsTopic"
