"""The whole local stack: moto as the AWS endpoint, the template's resources and triggers, the API in front."""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import boto3

from oms_webhooks_cli.endpoint import state_file
from oms_webhooks_cli.local.gateway import Gateway, GatewayServer
from oms_webhooks_cli.local.lambdas import LocalFunction
from oms_webhooks_cli.local.moto_process import MotoProcess
from oms_webhooks_cli.local.triggers import EVENT_CONCURRENCY, eventbridge_rule, sqs_event_source
from oms_webhooks_cli.template import REGION, Template

log = logging.getLogger("oms_webhooks.local")

LOCAL_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_DEFAULT_REGION": REGION,
}
# A receiver on 127.0.0.1 is the point of local runs; the machine is shared, so no process is fixed to one CPU.
LOCAL_OVERRIDES = {"ALLOW_LOOPBACK_TARGETS": "true", "DELIVERY_THREADS_ON_ONE_CPU": "false"}
STOP_SECONDS = 4.0  # from a stop request to the end of every process of the stack, in-flight work abandoned
POLLERS_STOP_SECONDS = 1.0  # of those, how long in-flight batches may take to finish
MOTO_STOP_SECONDS = 1.5  # and how long moto may take before it is killed
QUEUE_ATTRIBUTES = (
    "VisibilityTimeout",
    "MessageRetentionPeriod",
    "DelaySeconds",
    "ReceiveMessageWaitTimeSeconds",
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
)


class LocalStack:
    def __init__(
        self,
        host: str = "127.0.0.1",
        aws_port: int = 4566,
        api_port: int = 3000,
        parameters: dict[str, str] | None = None,
    ) -> None:
        self.host = host
        self.parameters = parameters or {}
        self.moto = MotoProcess(host, aws_port)
        self.api_port = api_port
        self.api: GatewayServer | None = None
        self.template = Template(parameters=self.parameters)
        self.outputs: dict[str, str] = {}
        self.pollers: list[threading.Thread] = []
        self.stopping = threading.Event()

    @property
    def aws_endpoint(self) -> str:
        host, port = self.moto.get_host_and_port()
        return f"http://{host}:{port}"

    @property
    def api_url(self) -> str:
        assert self.api is not None
        return f"http://{self.host}:{self.api.server_address[1]}"

    def aws(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.aws_endpoint, region_name=REGION)

    def start(self) -> None:
        self.moto.start()
        os.environ.update({**LOCAL_CREDENTIALS, "AWS_ENDPOINT_URL": self.aws_endpoint})
        self.template = Template(aws_endpoint=self.aws_endpoint, parameters=self.parameters)
        create_resources(self.template, self.aws)
        functions = local_functions(self.template)
        os.environ.update(self._environment(functions))
        self.pollers = [
            *(
                eventbridge_rule(functions[fn], name, props, self.aws, self.stopping)
                for fn, name, props in self.template.triggers("EventBridgeRule")
            ),
            *(
                poller
                for fn, _, props in self.template.triggers("SQS")
                for poller in sqs_event_source(functions[fn], props, self.aws, self.stopping)
            ),
        ]
        for poller in self.pollers:
            poller.start()
        self.api = GatewayServer((self.host, self.api_port), Gateway(self.template, functions))
        threading.Thread(target=self.api.serve_forever, name="local-api", daemon=True).start()
        self.outputs = self._outputs()
        self._write_state()

    def stop(self) -> None:
        """Ends the stack, this process included, within STOP_SECONDS: in-flight batches get a moment to finish,
        then moto stops and whatever still runs (a delivery to a hanging subscriber) is abandoned, as Lambda
        abandons an invocation whose environment goes away."""
        _exit_after(STOP_SECONDS)
        log.info("stopping")
        self.stopping.set()
        path = state_file()
        if path.exists() and json.loads(path.read_text()).get("pid") == os.getpid():
            path.unlink()
        if self.api:
            self.api.shutdown()
            self.api.server_close()
        deadline = time.monotonic() + POLLERS_STOP_SECONDS
        for poller in self.pollers:
            poller.join(timeout=max(0.0, deadline - time.monotonic()))
        self.moto.stop(MOTO_STOP_SECONDS)

    def _environment(self, functions: dict[str, LocalFunction]) -> dict[str, str]:
        """One process hosts every function, so their template environments must agree."""
        merged: dict[str, str] = {}
        for function in functions.values():
            for name, value in function.spec.environment.items():
                if merged.get(name, value) != value:
                    raise ValueError(f"functions disagree on {name}: {merged[name]!r} vs {value!r}")
                merged[name] = value
        return {**merged, **LOCAL_OVERRIDES}

    def _outputs(self) -> dict[str, str]:
        outputs = {
            name: str(self.template.resolve(spec["Value"]))
            for name, spec in self.template.doc["Outputs"].items()
            if "Condition" not in spec or self.template.condition(spec["Condition"])
        }
        outputs["ApiUrl"] = f"{self.api_url}/"
        return outputs

    def _write_state(self) -> None:
        path = state_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        state = {
            "pid": os.getpid(),
            "stack_name": self.template.stack_name,
            "parameters": self.parameters,
            "aws_endpoint": self.aws_endpoint,
            "api_url": self.api_url,
            "outputs": self.outputs,
        }
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        tmp.replace(path)


def _exit_after(seconds: float) -> None:
    """Ends this process `seconds` from now unless it has ended by then (threads of abandoned invocations would
    otherwise hold the interpreter's exit until their own timeouts)."""

    def exit_now() -> None:
        log.warning("in-flight invocations abandoned after %.0f s", seconds)
        sys.stderr.flush()
        os._exit(0)

    timer = threading.Timer(seconds, exit_now)
    timer.daemon = True
    timer.start()


def create_resources(template: Template, aws: Callable[[str], Any]) -> None:
    """The template's tables, queues and buses on the local endpoint, as CloudFormation would create them."""
    dynamodb, sqs, events = aws("dynamodb"), aws("sqs"), aws("events")
    for args in template.tables().values():
        ttl = args.pop("_ttl", None)
        dynamodb.create_table(**args)
        if ttl and ttl.get("Enabled"):
            dynamodb.update_time_to_live(TableName=args["TableName"], TimeToLiveSpecification=ttl)
    for lid, props in template.queues().items():
        attributes = {k: _attribute(props[k]) for k in QUEUE_ATTRIBUTES if k in props}
        if "RedrivePolicy" in props:
            attributes["RedrivePolicy"] = json.dumps(props["RedrivePolicy"])
        sqs.create_queue(QueueName=template.physical_name(lid), Attributes=attributes)
    for lid in template.of_type("AWS::Events::EventBus"):
        events.create_event_bus(Name=template.physical_name(lid))


def _attribute(value: Any) -> str:
    """A queue attribute as SQS takes it: text, booleans as `true`/`false`."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def local_functions(template: Template) -> dict[str, LocalFunction]:
    """Functions behind the API run one invocation at a time; event-driven ones several, as Lambda scales them."""
    behind_api = {route.function for route in template.routes()}
    authorizer = template.authorizer()
    if authorizer:
        behind_api.add(authorizer.function)
    return {
        lid: LocalFunction(spec, concurrency=1 if lid in behind_api else EVENT_CONCURRENCY)
        for lid, spec in template.functions().items()
    }
