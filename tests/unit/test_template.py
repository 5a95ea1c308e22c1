"""The local stack's reading of template.yaml: what it wires must be what SAM deploys."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from oms_webhooks_cli.template import Template


def test_functions_get_the_global_environment_resolved_to_local_names() -> None:
    template = Template(stack_name="t")
    functions = template.functions()
    assert {"ApiFunction", "AuthorizerFunction"} <= set(functions)
    env = functions["ApiFunction"].environment
    assert env["HOOKS_TABLE"] == "t-HooksTable"
    assert env["TOKENS_TABLE"] == "t-TokensTable"
    assert env["ALLOW_LOOPBACK_TARGETS"] == "false"  # the deployed default; only the local stack flips it
    assert functions["ApiFunction"].code_uri.joinpath("app.py").exists()


def test_api_routes_through_a_greedy_proxy_with_a_token_authorizer() -> None:
    template = Template()
    routes = [r for r in template.routes() if r.function == "ApiFunction"]
    assert sorted(route.method for route in routes) == ["DELETE", "GET", "PATCH", "POST", "PUT"]
    assert {(route.path, route.function) for route in routes} == {("/whisperer/{proxy+}", "ApiFunction")}
    pattern = routes[0].pattern()
    assert pattern.match("/whisperer/hooks/")
    assert pattern.match("/whisperer/hooks")
    assert not pattern.match("/whisperer/")
    authorizer = template.authorizer()
    assert authorizer is not None and authorizer.function == "AuthorizerFunction"
    assert authorizer.validation is not None and authorizer.validation.match("Token abc123")


def test_tables_are_created_from_their_template_definitions() -> None:
    tables = Template(stack_name="t").tables()
    hooks = tables["HooksTable"]
    assert hooks["TableName"] == "t-HooksTable"
    assert [k["AttributeName"] for k in hooks["KeySchema"]] == ["owner", "sk"]
    assert [i["IndexName"] for i in hooks["GlobalSecondaryIndexes"]] == ["ActiveByEventType"]


def test_conditions_follow_the_parameters_and_if_picks_a_branch() -> None:
    off, on = Template(stack_name="t"), Template(stack_name="t", parameters={"EnableTracing": "true"})
    assert (off.condition("TracingEnabled"), on.condition("TracingEnabled")) == (False, True)
    assert off.functions()["DispatcherFunction"].environment["POWERTOOLS_TRACE_DISABLED"] == "true"
    assert on.functions()["DispatcherFunction"].environment["POWERTOOLS_TRACE_DISABLED"] == "false"
    assert off.resolve(off.doc["Globals"]["Function"]["Tracing"]) == "PassThrough"
    assert on.resolve(on.doc["Globals"]["Function"]["Tracing"]) == "Active"
    topic = "arn:aws:sns:us-east-1:123456789012:ops"
    assert not off.condition("HasAlarmTopic")
    assert Template(parameters={"AlarmTopicArn": topic}).condition("HasAlarmTopic")


def test_no_value_leaves_a_property_out() -> None:
    alarm = Template().resources["RetryQueueAgeAlarm"]["Properties"]
    assert "AlarmActions" not in Template().resolve(alarm)  # no topic: the alarm has no actions at all
    topic = "arn:aws:sns:us-east-1:123456789012:ops"
    assert Template(parameters={"AlarmTopicArn": topic}).resolve(alarm)["AlarmActions"] == [topic]
    template = Template()
    assert template.resolve({"Ref": "AWS::NoValue"}) is None
    assert template.resolve(["a", {"Ref": "AWS::NoValue"}, "b"]) == ["a", "b"]


def test_every_condition_function_and_the_short_condition_tag(tmp_path: Path) -> None:
    path = tmp_path / "template.yaml"
    path.write_text(
        """
Parameters:
  Mode: {Type: String, Default: blue}
Conditions:
  Blue: !Equals [!Ref Mode, blue]
  NotBlue: !Not [!Condition Blue]
  BlueInUsEast: !And [!Condition Blue, !Equals [!Ref "AWS::Region", us-east-1]]
  AnyColour: !Or [!Condition NotBlue, !Condition Blue]
Resources: {}
"""
    )
    template = Template(path=path)
    assert [template.condition(name) for name in ("Blue", "NotBlue", "BlueInUsEast", "AnyColour")] == [
        True,
        False,
        True,
        True,
    ]
    assert Template(path=path, parameters={"Mode": "red"}).condition("BlueInUsEast") is False
    with pytest.raises(ValueError, match="no condition"):
        template.condition("Green")
    assert template.resolve({"Fn::If": ["Blue", "b", "r"]}) == "b"


def test_sub_knows_attributes_pseudo_parameters_its_own_variables_and_escapes() -> None:
    template = Template(stack_name="t")
    assert template.resolve({"Fn::Sub": "${AWS::StackName}-${AWS::Partition}"}) == "t-aws"
    assert template.resolve({"Fn::Sub": "${RetryQueue.QueueName}"}) == "t-RetryQueue"
    assert template.resolve({"Fn::Sub": ["${Greeting}, ${Stage}", {"Greeting": "hi"}]}) == "hi, prod"
    assert template.resolve({"Fn::Sub": "${!Literal}"}) == "${Literal}"
    assert template.resolve({"Ref": "Dashboard"}) == "t"  # DashboardName: ${AWS::StackName}


def _is_string_valued(value: Any) -> bool:
    """A literal string, or an intrinsic CloudFormation always resolves to a string (Ref, GetAtt, Sub, Join, and
    If whose branches are such). A bare number or boolean is refused: CloudFormation stringifies it for a
    function's environment, but emulators pass it through and the runtime then fails to start."""
    if isinstance(value, str):
        return True
    if isinstance(value, dict) and len(value) == 1:
        [(name, args)] = value.items()
        if name in ("Ref", "Fn::GetAtt", "Fn::Sub", "Fn::Join"):
            return True
        if name == "Fn::If":
            return _is_string_valued(args[1]) and _is_string_valued(args[2])
    return False


def test_every_environment_value_is_a_string_in_the_template_itself() -> None:
    template = Template()
    environments = {"Globals": template.doc["Globals"]["Function"]["Environment"]["Variables"]}
    for lid, function in template.of_type("AWS::Serverless::Function").items():
        environments[lid] = function["Properties"].get("Environment", {}).get("Variables", {})
    assert "RETRY_RESEND_AFTER_RECEIVES" in environments["RetrierFunction"]
    not_strings = {
        f"{owner}.{name}": value
        for owner, variables in environments.items()
        for name, value in variables.items()
        if not _is_string_valued(value)
    }
    assert not_strings == {}


def test_the_string_check_refuses_numbers_booleans_and_mixed_conditions() -> None:
    assert not _is_string_valued(15)
    assert not _is_string_valued(True)
    assert not _is_string_valued({"Fn::If": ["C", "1", 2]})
    assert _is_string_valued({"Fn::If": ["C", "1", {"Ref": "P"}]})


def test_the_delivery_logs_point_in_time_recovery_follows_its_parameter() -> None:
    def recovery(parameters: dict[str, str], table: str) -> Any:
        template = Template(stack_name="t", parameters=parameters)
        properties = template.resolve(template.of_type("AWS::DynamoDB::Table")[table]["Properties"])
        return properties["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"]

    assert recovery({}, "DeliveriesTable") is True  # the default keeps backups
    assert recovery({"DeliveryLogPointInTimeRecovery": "false"}, "DeliveriesTable") is False
    assert recovery({"DeliveryLogPointInTimeRecovery": "false"}, "HooksTable") is True
