"""The README walk-through against the stack `sam deploy` created from template.yaml, not the local stack's wiring:
CloudFormation made the API (its TOKEN authorizer, the explicit methods), the EventBridge rule that invokes the
dispatcher, and the SQS event source mappings of the retrier and the fan-out function. Everything goes through
`oms-webhooks --stack-name` (outputs from CloudFormation, the API over HTTP) and real receivers on 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import boto3
import pytest
import requests
from standardwebhooks.webhooks import Webhook

from oms_webhooks_cli.api_client import ApiClient, ApiError, client_for
from oms_webhooks_cli.endpoint import find_target
from oms_webhooks_cli.template import Template
from tests.deploy.conftest import (
    BUILT_TEMPLATE,
    PARAMETERS,
    Deployed,
    Emulator,
    build_previous_release,
    deploy_beside,
)
from tests.receiver import Answer, Received, Receiver
from tests.route_walk import Walk

pytestmark = [pytest.mark.deploy, pytest.mark.timeout(900)]

CLI = str(Path(sys.executable).with_name("oms-webhooks"))
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}
T = TypeVar("T")


def eventually(check: Callable[[], T | None], timeout: float, what: str) -> T:
    """Polls `check` until it returns something, bounded by `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.3)


class Operator:
    """`oms-webhooks --stack-name` as a user runs it, pointed at the emulator by the standard AWS_ENDPOINT_URL."""

    def __init__(self, stack_name: str) -> None:
        self.stack_name = stack_name

    def run(self, *args: str, token: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, **({"OMS_WEBHOOKS_TOKEN": token} if token else {})}
        done = subprocess.run(
            [CLI, "--stack-name", self.stack_name, *args], env=env, capture_output=True, text=True, timeout=120
        )
        if check and done.returncode != 0:
            raise AssertionError(f"oms-webhooks {' '.join(args)} exited {done.returncode}: {done.stderr}")
        return done

    def json(self, *args: str, token: str | None = None) -> Any:
        return json.loads(self.run(*args, "--json", token=token).stdout)


def delivery_uuid(request: Received) -> str:
    return str(json.loads(request.body)["event"]["uuid"])


@pytest.fixture(scope="module")
def operator(deployed: Deployed) -> Operator:
    return Operator(deployed.stack_name)


@pytest.fixture(scope="module")
def api_url(deployed: Deployed) -> str:
    return find_target(deployed.stack_name).output("ApiUrl")


def physical(deployed: Deployed) -> dict[str, str]:
    resources = boto3.client("cloudformation").get_paginator("list_stack_resources")
    pages = resources.paginate(StackName=deployed.stack_name)
    return {r["LogicalResourceId"]: r["PhysicalResourceId"] for page in pages for r in page["StackResourceSummaries"]}


def test_the_template_deploys_unchanged_and_whole(deployed: Deployed) -> None:
    cloudformation = boto3.client("cloudformation")
    [stack] = cloudformation.describe_stacks(StackName=deployed.stack_name)["Stacks"]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    statuses = {
        r["LogicalResourceId"]: r["ResourceStatus"]
        for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=deployed.stack_name)
        for r in page["StackResourceSummaries"]
    }
    assert set(statuses.values()) == {"CREATE_COMPLETE"}
    print(f"sam deploy created {len(statuses)} resources in {deployed.seconds:.1f} s")  # shown with pytest -rP
    template = Template(path=BUILT_TEMPLATE, parameters=PARAMETERS)
    plain = {lid for lid, r in template.resources.items() if not r["Type"].startswith("AWS::Serverless::")}
    functions = set(template.of_type("AWS::Serverless::Function"))
    # KmsKeyUsePolicy exists only with a KmsKeyArn, the operators' SNS topic only with OperationalEventsTopic=true
    conditions = {lid: template.resources[lid].get("Condition") for lid in plain}
    made = {lid for lid, condition in conditions.items() if condition is None or template.condition(condition)}
    assert made <= set(statuses) and {"KmsKeyUsePolicy", "OperationalEventsSnsTopic"} <= plain - made
    assert functions | {"WebhooksApi"} <= set(statuses)

    aws_lambda = boto3.client("lambda")
    names = physical(deployed)
    for lid in functions:
        config = aws_lambda.get_function_configuration(FunctionName=names[lid])
        assert config["Runtime"] == "python3.11", lid
        variables = config["Environment"]["Variables"]
        assert all(isinstance(value, str) for value in variables.values()), (lid, variables)
        assert variables["FANOUT_BATCH_SIZE"] == PARAMETERS["FanoutBatchSize"]
    retrier = aws_lambda.get_function_configuration(FunctionName=names["RetrierFunction"])
    assert retrier["Environment"]["Variables"]["RETRY_RESEND_AFTER_RECEIVES"] == "15"

    mappings = (("RetrierFunction", "RetryQueue", 10), ("FanoutFunction", "FanoutQueue", 1))
    for function, queue, batch in (*mappings, ("SequencerFunction", "OrderedQueue", 10)):
        [mapping] = aws_lambda.list_event_source_mappings(FunctionName=names[function])["EventSourceMappings"]
        assert mapping["EventSourceArn"].endswith(":" + names[queue].rsplit("/", 1)[-1]), mapping
        assert mapping["State"] == "Enabled" and mapping["BatchSize"] == batch
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]

    apigateway = boto3.client("apigateway")
    api_id = names["WebhooksApi"]
    [proxy] = [r for r in apigateway.get_resources(restApiId=api_id)["items"] if r["path"] == "/whisperer/{proxy+}"]
    assert set(proxy["resourceMethods"]) == METHODS  # no ANY: explicit methods, which the emulator imports
    [authorizer] = apigateway.get_authorizers(restApiId=api_id)["items"]
    assert authorizer["type"] == "TOKEN" and authorizer["identityValidationExpression"] == "^Token [A-Za-z0-9]+$"


def test_the_gateway_answers_unknown_methods_and_refused_tokens_itself(api_url: str) -> None:
    hooks = f"{api_url}whisperer/hooks/"
    for method in ("HEAD", "OPTIONS"):  # not routed: API Gateway's own 403, before any authorizer runs
        answer = requests.request(method, hooks, headers={"Authorization": "Token abc"}, timeout=30)
        assert answer.status_code == 403, (method, answer.text)
    assert requests.options(hooks, timeout=30).json() == {"message": "Missing Authentication Token"}
    for headers in ({}, {"Authorization": "Bearer abc"}, {"Authorization": "Token not-a-valid-token"}):
        assert requests.get(hooks, headers=headers, timeout=30).status_code == 401, headers
    assert requests.get(hooks, headers={"Authorization": "Token 0123456789abcdef"}, timeout=30).status_code == 401


def test_token_subscribe_publish_and_a_signed_delivery(operator: Operator, receiver: Receiver) -> None:
    token = operator.run("token", "create", "--owner", f"acme-{uuid.uuid4().hex[:6]}").stdout.strip()
    target = receiver.script("/webhooks", Answer(200))
    hook = operator.json(
        "hooks", "create", "--event-type", "package-created", "--target-url", target, "--secret-key", SECRET,
        "--header", "X-Shop=istanbul-01", token=token,
    )  # fmt: skip
    assert hook["event_type"] == "package.created" and hook["secret_key_set"] is True and "secret_key" not in hook
    assert [h["id"] for h in operator.json("hooks", "list", token=token)] == [hook["id"]]

    payload = {"id": 73, "state": {"name": "Created"}, "marker": uuid.uuid4().hex}
    event_id = operator.run("publish", "package.created", "--payload", json.dumps(payload)).stdout.strip()
    assert event_id
    [request] = receiver.wait_for("/webhooks", 1, timeout=60)
    body = json.loads(request.body)
    assert body["payload"] == payload and body["event"]["type"] == "package.created"
    headers = {name.lower(): value for name, value in request.headers.items()}
    Webhook(SECRET).verify(request.body, headers)  # the official Standard Webhooks verifier: raises if wrong
    assert headers["webhook-id"] == body["event"]["uuid"]
    expected = hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    assert headers["x-whisperer-signature"] == f"sha256={expected}"
    assert headers["x-shop"] == "istanbul-01"

    def delivered() -> dict[str, Any] | None:
        shown = operator.json("deliveries", "show", body["event"]["uuid"], token=token)
        return shown if shown["status"] == "delivered" else None

    delivery = eventually(delivered, 60, "the delivery recorded as delivered")
    assert [a["status_code"] for a in delivery["attempts"]] == [200]
    assert delivery["webhook"]["id"] == hook["id"]


def test_a_500_comes_back_through_the_retry_queue_and_is_retried_by_hand(
    operator: Operator, receiver: Receiver
) -> None:
    token = operator.run("token", "create", "--owner", f"retries-{uuid.uuid4().hex[:6]}").stdout.strip()
    every_second = '{"choice": "fixed", "kwargs": {"seconds": 1}, "max_retries": %d}'
    flaky = receiver.script("/flaky", Answer(500), Answer(500), Answer(200))
    down = receiver.script("/down", Answer(500, b"down for maintenance"))
    for target, retries in ((flaky, 3), (down, 1)):
        operator.run(
            "hooks", "create", "--event-type", "package.status.shipped", "--target-url", target,
            "--retry-config", every_second % retries, token=token,
        )  # fmt: skip
    operator.run("publish", "package.status.shipped", "--payload", '{"id": 9}')

    # The retrier, invoked by the retry queue's event source mapping, makes the second and third attempts.
    attempts = receiver.wait_for("/flaky", 3, timeout=90)
    assert len(attempts) == 3 and len({delivery_uuid(a) for a in attempts}) == 1
    flaky_uuid = delivery_uuid(attempts[0])
    down_uuid = delivery_uuid(receiver.wait_for("/down", 1, timeout=60)[0])

    def ended(uuid_: str, status: str) -> Callable[[], dict[str, Any] | None]:
        def check() -> dict[str, Any] | None:
            shown = operator.json("deliveries", "show", uuid_, token=token)
            return shown if shown["status"] == status else None

        return check

    recovered = eventually(ended(flaky_uuid, "delivered"), 60, "the flaky receiver's delivery delivered")
    assert [a["status_code"] for a in recovered["attempts"]] == [500, 500, 200]
    failed = eventually(ended(down_uuid, "failed"), 90, "the down receiver's delivery failed after its retry")
    assert [a["status_code"] for a in failed["attempts"]] == [500, 500]

    # By hand, as the README shows: still down -> not delivered (exit 1); back -> delivered (exit 0); again -> 406.
    assert operator.run("deliveries", "retry", down_uuid, token=token, check=False).returncode == 1
    receiver.script("/down", Answer(200))
    done = operator.run("deliveries", "retry", down_uuid, token=token)
    assert done.stdout.startswith("delivered: HTTP 200"), done.stdout
    assert delivery_uuid(receiver.received["/down"][-1]) == down_uuid
    refused = operator.run("deliveries", "retry", down_uuid, token=token, check=False)
    assert refused.returncode == 1 and "event_100_3" in refused.stderr
    shown = operator.json("deliveries", "show", down_uuid, token=token)
    assert shown["status"] == "delivered"
    assert [(a["status_code"], a["manual"]) for a in shown["attempts"]] == [
        (500, False),
        (500, False),
        (500, True),
        (200, True),
    ]


def test_a_delivery_given_up_reaches_its_owners_operational_hook_through_the_bus_rule(
    operator: Operator, receiver: Receiver
) -> None:
    """The dispatcher puts `whisperer.delivery.exhausted` on the deployed bus; the OperationalEvents rule that
    CloudFormation made hands it back to the dispatcher, which signs it to the owner's hook, and to no other owner."""
    token = operator.run("token", "create", "--owner", f"ops-{uuid.uuid4().hex[:6]}").stdout.strip()
    other = operator.run("token", "create", "--owner", f"other-{uuid.uuid4().hex[:6]}").stdout.strip()
    for who, path in ((token, "/ops"), (other, "/other-ops")):
        operator.run(
            "hooks", "create", "--event-type", "whisperer.delivery.exhausted", "--target-url", receiver.url(path),
            "--secret-key", SECRET, token=who,
        )  # fmt: skip
    dead = receiver.script("/dead-end", Answer(503))
    operator.run(
        "hooks", "create", "--event-type", "transfer.status.transferred", "--target-url", dead,
        "--retry-config", '{"choice": "fixed", "kwargs": {"seconds": 1}, "max_retries": 0}', token=token,
    )  # fmt: skip
    operator.run("publish", "transfer.status.transferred", "--payload", '{"id": 31}')
    given_up = delivery_uuid(receiver.wait_for("/dead-end", 1, timeout=60)[0])
    [request] = receiver.wait_for("/ops", 1, timeout=90)
    body = Webhook(SECRET).verify(request.body, request.headers)
    assert body["event"]["type"] == "whisperer.delivery.exhausted"
    assert body["payload"]["delivery"]["uuid"] == given_up and body["payload"]["hook"]["target_url"] == dead
    time.sleep(3)
    assert receiver.received["/other-ops"] == [] and len(receiver.received["/ops"]) == 1


def test_a_fan_out_beyond_the_batch_size_goes_through_the_fan_out_queue(
    deployed: Deployed, operator: Operator, receiver: Receiver
) -> None:
    hooks_count = int(PARAMETERS["FanoutBatchSize"]) + 5  # two batches on the fan-out queue
    token = operator.run("token", "create", "--owner", f"fanout-{uuid.uuid4().hex[:6]}").stdout.strip()
    api: ApiClient = client_for(None, token, deployed.stack_name)  # the CLI's own --stack-name client
    paths = [f"/fan/{n}" for n in range(hooks_count)]
    for path in paths:
        api.create_hook({"event_type": "shipment.created", "target_url": receiver.url(path)})
    event_id = operator.run("publish", "shipment.created", "--payload", '{"id": 5}').stdout.strip()

    for path in paths:
        assert receiver.wait_for(path, 1, timeout=120), f"no delivery to {path}"

    def all_delivered() -> list[dict[str, Any]] | None:
        found = [d for d in api.list_deliveries({"event_type": "shipment.created"}, 500) if d["delivered"]]
        return found if len(found) == hooks_count else None

    delivered = eventually(all_delivered, 60, "every fan-out delivery recorded as delivered")
    assert len({d["uuid"] for d in delivered}) == hooks_count
    time.sleep(2)  # a duplicate would come from a batch handled twice: give it time to show
    assert {path: len(receiver.received[path]) for path in paths} == dict.fromkeys(paths, 1)

    # Every batch was delivered by the fan-out function (the dispatcher splits and sends none itself).
    logs = boto3.client("logs")
    group = f"/aws/lambda/{physical(deployed)['FanoutFunction']}"
    text = "\n".join(e["message"] for e in logs.filter_log_events(logGroupName=group, limit=10000)["events"])
    assert event_id in text


def test_an_ordered_hooks_deliveries_go_through_the_fifo_queue_one_object_at_a_time(
    deployed: Deployed, operator: Operator, receiver: Receiver
) -> None:
    """CloudFormation made the FIFO queue (high throughput) and the sequencer's event source mapping: one package's
    events come in order through a refusal, each once, and another package's is not held back."""
    token = operator.run("token", "create", "--owner", f"ordered-{uuid.uuid4().hex[:6]}").stdout.strip()
    api: ApiClient = client_for(None, token, deployed.stack_name)
    # Package 1's first event is retried 10 s after its refusal: package 2's is published three CLI runs after it
    # (each a second or more, so the events' whole-second times differ), which on a loaded machine took longer than
    # the 2 s this was, and package 2 then came after package 1's retry as if held back.
    retries = {"choice": "fixed", "kwargs": {"seconds": 10}, "max_retries": 3}
    refusals = {1: 1}

    def decide(body: bytes) -> Answer:
        payload = json.loads(body)["payload"]
        if payload["id"] == 1 and refusals.get(payload["seq"], 0) > 0:
            refusals[payload["seq"]] -= 1
            return Answer(503)
        return Answer(200)

    url = receiver.decide("/ordered", decide)
    api.create_hook(
        {
            "event_type": "transfer.status.created",
            "target_url": url,
            "ordering": "object",
            "retry_countdown_config": retries,
        }
    )
    for seq in (1, 2, 3):
        operator.run("publish", "transfer.status.created", "--payload", json.dumps({"id": 1, "seq": seq}))
        time.sleep(0.1)
    operator.run("publish", "transfer.status.created", "--payload", '{"id": 2, "seq": 1}')
    arrived = receiver.wait_for("/ordered", 5, timeout=120)
    order = [(p["id"], p["seq"]) for p in (json.loads(r.body)["payload"] for r in arrived)]
    assert [key for key in order if key[0] == 1] == [(1, 1), (1, 1), (1, 2), (1, 3)], order
    assert order.index((2, 1)) < order.index((1, 2))
    names = physical(deployed)
    attributes = boto3.client("sqs").get_queue_attributes(QueueUrl=names["OrderedQueue"], AttributeNames=["All"])
    assert attributes["Attributes"]["FifoQueue"] == "true"
    time.sleep(2)
    assert len(receiver.received["/ordered"]) == 5


def test_every_documented_route_answers_as_on_the_local_stack(
    operator: Operator, api_url: str, receiver: Receiver
) -> None:
    """The walk tests/e2e runs on the local stack: each route's documented status and schema, a DELETE's empty 204
    included (a `"body": null` answer was a 500 on the emulator)."""
    token = operator.run("token", "create", "--owner", f"walker-{uuid.uuid4().hex[:6]}").stdout.strip()
    with requests.Session() as http:
        visited = Walk(http, api_url.rstrip("/"), token, receiver.script("/walk", Answer(500), Answer(200))).run()
    assert visited[("DELETE", "/whisperer/hooks/{hook_id}/")] == 204


def test_the_delivery_console_is_served_without_a_token(api_url: str) -> None:
    """The console's GET routes skip the authorizer on the deployed API too; the API beside them does not."""
    page = requests.get(f"{api_url}whisperer/console/", timeout=30)
    assert page.status_code == 200, page.text
    [version] = re.findall(r'<script type="module" src="v/([0-9a-f]{16})/js/boot\.js">', page.text)
    policy = page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy and "require-trusted-types-for 'script'" in policy
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["Strict-Transport-Security"] == "max-age=31536000"
    script = requests.get(f"{api_url}whisperer/console/v/{version}/js/pages/delivery.js", timeout=30)
    assert script.status_code == 200 and script.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert script.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert requests.get(f"{api_url}whisperer/console/app.py", timeout=30).status_code == 404
    assert requests.get(f"{api_url}whisperer/hooks/", timeout=30).status_code == 401


def test_a_portal_link_from_the_cli_is_a_bearer_until_signed_out(operator: Operator, api_url: str) -> None:
    """`portal link --stack-name`: the link names the deployed console; its token reads as the owner, a read-only
    one is refused writes, and signing out ends it (the API's own check, whatever the authorizer cached)."""
    token = operator.run("token", "create", "--owner", f"portal-{uuid.uuid4().hex[:6]}").stdout.strip()
    url = operator.run("portal", "link", "--ttl", "120", "--read-only", token=token).stdout.strip()
    console, _, session = url.partition("#session=")
    assert session.startswith("portal"), url
    # The deployed console's host and stage. API Gateway tells the function how the client came in: the scheme in
    # X-Forwarded-Proto (always https), the path with its stage (or a custom domain's base path). The emulator sends
    # no X-Forwarded-Proto and keeps its own `/_aws/execute-api/<id>` prefix from the function, so only those are
    # compared here.
    assert urlsplit(console).netloc == urlsplit(api_url).netloc, url
    assert console.endswith("/prod/whisperer/console/"), url
    as_session = {"Authorization": f"Token {session}"}
    assert requests.get(f"{api_url}whisperer/hooks/", headers=as_session, timeout=30).status_code == 200
    hook = {"event_type": "package.created", "target_url": "http://127.0.0.1:9/x"}
    refused = requests.post(f"{api_url}whisperer/hooks/", json=hook, headers=as_session, timeout=30)
    assert refused.status_code == 403 and "read-only" in refused.json()["detail"]
    assert refused.headers["Strict-Transport-Security"] == "max-age=31536000"
    current = requests.get(f"{api_url}whisperer/portal/sessions/current/", headers=as_session, timeout=30)
    assert current.status_code == 200 and current.json()["read_only"] is True
    ended = requests.delete(f"{api_url}whisperer/portal/sessions/current/", headers=as_session, timeout=30)
    assert ended.status_code == 204
    assert requests.get(f"{api_url}whisperer/hooks/", headers=as_session, timeout=30).status_code == 401


def test_a_second_stack_deploys_beside_the_first_and_leaves_the_account_setting_to_it(
    emulator: Emulator, deployed: Deployed, api_url: str, receiver: Receiver
) -> None:
    """Staging beside prod in one account: with SetApiGatewayAccountRole off (and a bus of its own) the second stack
    deploys whole, makes no account-wide resource, and API Gateway's CloudWatch role stays the one the first set."""
    apigateway = boto3.client("apigateway")
    first_role = apigateway.get_account()["cloudwatchRoleArn"]
    assert first_role.endswith("/" + physical(deployed)["ApiGatewayCloudWatchRole"]), first_role

    staging = deploy_beside(
        emulator,
        deployed,
        "staging",
        {"PortalFrameAncestors": '"https://oms.example.com https://*.example.net:8443"'},  # quoted, as for sam
    )
    [stack] = boto3.client("cloudformation").describe_stacks(StackName=staging.stack_name)["Stacks"]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    made = physical(staging)
    assert not {"ApiGatewayAccount", "ApiGatewayCloudWatchRole"} & set(made)
    assert {"ApiGatewayAccountReady", "WebhooksApi", "EventBus"} <= set(made)
    assert apigateway.get_account()["cloudwatchRoleArn"] == first_role
    assert made["WebhooksApi"] != physical(deployed)["WebhooksApi"]

    # It works on its own: a token, a hook and a delivery through its own bus, tables and functions.
    operator = Operator(staging.stack_name)
    token = operator.run("token", "create", "--owner", f"staging-{uuid.uuid4().hex[:6]}").stdout.strip()
    target = receiver.script("/staging", Answer(200))
    operator.run("hooks", "create", "--event-type", "package.created", "--target-url", target, token=token)
    operator.run("publish", "package.created", "--payload", '{"id": 12}')
    [request] = receiver.wait_for("/staging", 1, timeout=60)
    assert json.loads(request.body)["payload"] == {"id": 12}
    # Its console may be framed by the pages PortalFrameAncestors names, and X-Frame-Options is left out.
    staging_api = find_target(staging.stack_name).output("ApiUrl")
    page = requests.get(f"{staging_api}whisperer/console/", timeout=30)
    assert page.status_code == 200, page.text
    assert (
        "frame-ancestors https://oms.example.com https://*.example.net:8443" in page.headers["Content-Security-Policy"]
    )
    assert "X-Frame-Options" not in page.headers
    # ...and apart from the first: its token is unknown there.
    answer = requests.get(f"{api_url}whisperer/hooks/", headers={"Authorization": f"Token {token}"}, timeout=30)
    assert answer.status_code == 401


OPERATORS_TOPIC = {"OperationalEventsSnsTopic", "OperationalEventsTopicPolicy", "OperationalEventsToTopic"}


def sns_targets(bus: str) -> list[str]:
    """The SNS topics that the rules of `bus` publish to."""
    events = boto3.client("events")
    rules = [r["Name"] for r in events.list_rules(EventBusName=bus)["Rules"]]
    targets = [t for rule in rules for t in events.list_targets_by_rule(Rule=rule, EventBusName=bus)["Targets"]]
    return [t["Arn"] for t in targets if t["Arn"].split(":")[2] == "sns"]


def subscribed_queue(topic_arn: str, name: str) -> str:
    """An SQS queue subscribed to the topic, as an operator's consumer would be: its policy lets the topic send."""
    sqs = boto3.client("sqs")
    queue_url: str = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    statement = {
        "Effect": "Allow",
        "Principal": {"Service": "sns.amazonaws.com"},
        "Action": "sqs:SendMessage",
        "Resource": queue_arn,
        "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
    }
    policy = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": policy})
    boto3.client("sns").subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    return queue_url


def test_the_operators_topic_is_off_by_default_and_when_on_gets_a_hook_disabled_by_a_410(
    emulator: Emulator, deployed: Deployed, receiver: Receiver
) -> None:
    """OperationalEventsTopic "true": a 410 disables a hook, the dispatcher puts `whisperer.hook.disabled` on the
    bus, the rule CloudFormation made publishes it to the topic, and an SQS queue subscribed there gets the event with
    its detail. The default stack has no topic and no rule to one."""
    default = find_target(deployed.stack_name)
    assert not OPERATORS_TOPIC & set(physical(deployed))
    assert "OperationalEventsTopicArn" not in default.outputs
    assert sns_targets(default.output("EventBusName")) == []

    ops = deploy_beside(emulator, deployed, "ops-topic", {"OperationalEventsTopic": "true"})
    assert set(physical(ops)) >= OPERATORS_TOPIC
    stack = find_target(ops.stack_name)
    topic_arn, bus = stack.output("OperationalEventsTopicArn"), stack.output("EventBusName")
    events = boto3.client("events")
    [rule] = events.list_rule_names_by_target(TargetArn=topic_arn, EventBusName=bus)["RuleNames"]
    assert json.loads(events.describe_rule(Name=rule, EventBusName=bus)["EventPattern"]) == {"source": ["oms.webhooks"]}
    assert sns_targets(bus) == [topic_arn]
    queue_url = subscribed_queue(topic_arn, f"{ops.stack_name}-operators")

    operator = Operator(ops.stack_name)
    owner = f"gone-{uuid.uuid4().hex[:6]}"
    token = operator.run("token", "create", "--owner", owner).stdout.strip()
    gone = receiver.script("/gone", Answer(410))
    hook = operator.json("hooks", "create", "--event-type", "package.created", "--target-url", gone, token=token)
    operator.run("publish", "package.created", "--payload", '{"id": 41}')
    receiver.wait_for("/gone", 1, timeout=60)

    sqs = boto3.client("sqs")

    def received() -> list[dict[str, Any]] | None:
        return sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages")

    [message] = eventually(received, 90, "whisperer.hook.disabled on the queue subscribed to the operators' topic")
    notification = json.loads(message["Body"])  # SNS's envelope; its Message is the event EventBridge matched
    assert notification["Type"] == "Notification" and notification["TopicArn"] == topic_arn
    event = json.loads(notification["Message"])
    assert event["source"] == "oms.webhooks" and event["detail-type"] == "whisperer.hook.disabled"
    detail = event["detail"]
    assert detail["owner"] == owner
    assert detail["payload"]["hook"] == {"id": hook["id"], "event_type": "package.created", "target_url": gone}
    assert detail["payload"]["cause"] == "gone"
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    assert "Messages" not in sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=3)  # once per occurrence


def reads_previous_index(deployed: Deployed) -> str:
    """The API function's OWNER_LOG_FROM_PREVIOUS_INDEX, as deployed."""
    function = physical(deployed)["ApiFunction"]
    configuration = boto3.client("lambda").get_function_configuration(FunctionName=function)
    return str(configuration["Environment"]["Variables"]["OWNER_LOG_FROM_PREVIOUS_INDEX"])


def test_a_stack_of_the_previous_release_upgrades_in_two_deploys_and_keeps_its_deliveries(
    emulator: Emulator, deployed: Deployed, receiver: Receiver, tmp_path: Path
) -> None:
    """README "Upgrading a deployed stack", from the previous release's own stack: its code and template (git
    history) built and deployed, a delivery to a receiver that is down recorded and retried by its functions; then
    this template deployed over it with KeepPreviousOwnerIndex=true (ByOwnerLog created beside ByOwner, the log read
    from ByOwner meanwhile), where the receiver comes back and this release's retrier delivers it, then with "false"
    (ByOwner deleted, in place). The delivery is listed and read by id and uuid after each step, and the upgraded
    stack delivers a new one."""
    started = time.monotonic()
    previous = deploy_beside(emulator, deployed, "upgrade", {}, build_previous_release(tmp_path))
    table = physical(previous)["DeliveriesTable"]
    dynamodb = boto3.client("dynamodb")

    def indexes() -> dict[str, str]:
        described = dynamodb.describe_table(TableName=table)["Table"]
        return {i["IndexName"]: i["Projection"]["ProjectionType"] for i in described["GlobalSecondaryIndexes"]}

    current = {"ByOwnerLog": "INCLUDE", "ByHook": "INCLUDE", "ByOwnerId": "KEYS_ONLY", "Parked": "KEYS_ONLY"}
    assert indexes() == {"ByOwner": "ALL", "ByHook": "INCLUDE", "ByOwnerId": "KEYS_ONLY", "Parked": "KEYS_ONLY"}

    # A receiver down across the upgrade: the previous release records the first attempt and queues its retry.
    operator = Operator(previous.stack_name)
    token = operator.run("token", "create", "--owner", f"upgrade-{uuid.uuid4().hex[:6]}").stdout.strip()
    target = receiver.script("/upgrade", Answer(500))
    # Its retry falls due after the first deploy below: a retrier invocation while the functions' code is being
    # replaced can end without an answer (MiniStack's worker exits), and its batch would come back only after the
    # queue's visibility timeout, 12 minutes.
    after_45_seconds = '{"choice": "fixed", "kwargs": {"seconds": 45}, "max_retries": 2}'
    operator.run(
        "hooks", "create", "--event-type", "package.created", "--target-url", target,
        "--retry-config", after_45_seconds, token=token,
    )  # fmt: skip
    operator.run("publish", "package.created", "--payload", '{"id": 17}')
    recorded = delivery_uuid(receiver.wait_for("/upgrade", 1, timeout=60)[0])
    api: ApiClient = client_for(None, token, previous.stack_name)

    def recorded_as(uuid_: str, done: Callable[[dict[str, Any]], bool]) -> dict[str, Any] | None:
        """The delivery once `done` holds of it; None before (its record is written after its attempt is answered)."""
        try:
            shown = api.get_delivery(uuid_)
        except ApiError as error:
            if error.status != 404:
                raise
            return None
        return shown if done(shown) else None

    eventually(lambda: recorded_as(recorded, lambda d: bool(d["attempts"])), 60, "the failed attempt recorded")
    stored = dynamodb.get_item(TableName=table, Key={"uuid": {"S": recorded}})["Item"]
    assert "detail" not in stored and "attempts" in stored  # the previous release's shape

    def still_there() -> None:
        [listed] = api.list_deliveries({}, 10)
        assert listed["uuid"] == recorded and listed["delivered"] is True
        by_id = api.get_delivery(str(listed["id"]))  # whisperer's integer id, found through ByOwnerId
        assert by_id["uuid"] == recorded and by_id["request_payload"]["payload"] == {"id": 17}
        assert api.get_delivery(recorded)["id"] == listed["id"]

    # While ByOwnerLog is being filled (on AWS: DynamoDB refuses to read it), the functions read the log from ByOwner.
    keeping = deploy_beside(emulator, deployed, "upgrade", {"KeepPreviousOwnerIndex": "true"})
    assert physical(keeping)["DeliveriesTable"] == table  # updated in place, not replaced
    assert indexes() == {**current, "ByOwner": "ALL"}
    assert reads_previous_index(keeping) == "true"
    # The receiver is back: a retry queued by the previous release is made by this one, on its record.
    receiver.script("/upgrade", Answer(200))
    delivered = eventually(
        lambda: recorded_as(recorded, lambda d: d["delivered"]), 120, "the delivery retried after the upgrade"
    )
    assert [a["status_code"] for a in delivered["attempts"]] == [500, 200]
    assert "detail" in dynamodb.get_item(TableName=table, Key={"uuid": {"S": recorded}})["Item"]  # today's shape
    still_there()

    # SAM deploys a parameter left out of --parameter-overrides with its previous value, so "false" is said outright.
    upgraded = deploy_beside(emulator, deployed, "upgrade", {"KeepPreviousOwnerIndex": "false"})
    [stack] = boto3.client("cloudformation").describe_stacks(StackName=upgraded.stack_name)["Stacks"]
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    assert physical(upgraded)["DeliveriesTable"] == table
    assert indexes() == current
    assert reads_previous_index(upgraded) == "false"
    still_there()

    # The upgraded stack delivers, and records in today's shape beside the old record.
    operator.run("publish", "package.created", "--payload", '{"id": 18}')
    fresh = delivery_uuid(receiver.wait_for("/upgrade", 3, timeout=60)[2])  # after the first attempt and the retry
    assert fresh != recorded
    eventually(lambda: recorded_as(fresh, lambda d: d["delivered"]), 60, "the new delivery recorded as delivered")
    assert "detail" in dynamodb.get_item(TableName=table, Key={"uuid": {"S": fresh}})["Item"]
    listed = api.list_deliveries({}, 10)
    assert [d["uuid"] for d in listed] == [fresh, recorded], [(d["uuid"], d["created_date"]) for d in listed]
    print(
        f"upgrade: the previous release built and deployed, then two deploys ({previous.seconds:.1f}, "
        f"{keeping.seconds:.1f}, {upgraded.seconds:.1f} s of sam deploy), test {time.monotonic() - started:.1f} s"
    )
