"""The local stack's reading of template.yaml: what it wires must be what SAM deploys."""

from __future__ import annotations

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
    [route] = template.routes()
    assert (route.method, route.path, route.function) == ("ANY", "/whisperer/{proxy+}", "ApiFunction")
    pattern = route.pattern()
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
