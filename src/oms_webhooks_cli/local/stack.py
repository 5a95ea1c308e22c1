"""The whole local stack: moto as the AWS endpoint, the template's tables, and the API gateway in front."""

from __future__ import annotations

import json
import logging
import os
import threading
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

from oms_webhooks_cli.endpoint import state_file
from oms_webhooks_cli.local.gateway import Gateway, GatewayServer
from oms_webhooks_cli.local.lambdas import LocalFunction
from oms_webhooks_cli.template import Template

log = logging.getLogger("oms_webhooks.local")

LOCAL_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_DEFAULT_REGION": "us-east-1",
}
LOCAL_OVERRIDES = {"ALLOW_LOOPBACK_TARGETS": "true"}  # a receiver on 127.0.0.1 is the point of local runs


class LocalStack:
    def __init__(self, host: str = "127.0.0.1", aws_port: int = 4566, api_port: int = 3000) -> None:
        self.host = host
        self.template = Template()
        self.moto = ThreadedMotoServer(ip_address=host, port=aws_port, verbose=False)
        self.api_port = api_port
        self.api: GatewayServer | None = None
        self.outputs: dict[str, str] = {}

    @property
    def aws_endpoint(self) -> str:
        host, port = self.moto.get_host_and_port()
        return f"http://{host}:{port}"

    @property
    def api_url(self) -> str:
        assert self.api is not None
        return f"http://{self.host}:{self.api.server_address[1]}"

    def start(self) -> None:
        self.moto.start()
        os.environ.update({**LOCAL_CREDENTIALS, "AWS_ENDPOINT_URL": self.aws_endpoint})
        self._create_tables()
        functions = {lid: LocalFunction(spec) for lid, spec in self.template.functions().items()}
        os.environ.update(self._environment(functions))
        self.api = GatewayServer((self.host, self.api_port), Gateway(self.template, functions))
        threading.Thread(target=self.api.serve_forever, name="local-api", daemon=True).start()
        self.outputs = self._outputs()
        self._write_state()

    def stop(self) -> None:
        if self.api:
            self.api.shutdown()
            self.api.server_close()
        self.moto.stop()
        path = state_file()
        if path.exists() and json.loads(path.read_text()).get("pid") == os.getpid():
            path.unlink()

    def _create_tables(self) -> None:
        client = boto3.client("dynamodb", endpoint_url=self.aws_endpoint)
        for args in self.template.tables().values():
            ttl = args.pop("_ttl", None)
            client.create_table(**args)
            if ttl and ttl.get("Enabled"):
                client.update_time_to_live(TableName=args["TableName"], TimeToLiveSpecification=ttl)

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
        outputs: dict[str, str] = {}
        for name, spec in self.template.doc.get("Outputs", {}).items():
            value: Any = self.template.resolve(spec["Value"])
            outputs[name] = str(value)
        outputs["ApiUrl"] = f"{self.api_url}/"
        return outputs

    def _write_state(self) -> None:
        path = state_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        state = {
            "pid": os.getpid(),
            "stack_name": self.template.stack_name,
            "aws_endpoint": self.aws_endpoint,
            "api_url": self.api_url,
            "outputs": self.outputs,
        }
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        tmp.replace(path)
