"""Reads template.yaml so the local stack is wired exactly as the deployed one: tables, functions, routes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = PROJECT_ROOT / "template.yaml"
REGION, ACCOUNT = "us-east-1", "123456789012"  # moto's defaults


class _NoValue:
    """`Ref: AWS::NoValue`: the property (or list item) it stands for is left out."""

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = _NoValue()


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags (!Ref, !GetAtt, !Sub ...) read as their long forms."""


def _cfn_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _cfn_tag)


@dataclass
class Route:
    method: str  # "ANY" or an HTTP method
    path: str  # API Gateway resource path, e.g. /whisperer/{proxy+}
    function: str  # logical id
    authorized: bool = True  # False where the event says `Auth: Authorizer: NONE`

    def pattern(self) -> re.Pattern[str]:
        regex = re.sub(r"\\\{[^/]+?\\\+\\\}", r"(?P<proxy>.+)", re.escape(self.path))
        regex = re.sub(r"\\\{([^/]+?)\\\}", r"(?P<\1>[^/]+)", regex)
        trailing_slash = "" if "+}" in self.path else "/?"  # API Gateway routes /a/ to the resource /a
        return re.compile(f"^{regex}{trailing_slash}$")


@dataclass
class Function:
    logical_id: str
    code_uri: Path
    handler: str
    timeout: int
    memory: int
    environment: dict[str, str] = field(default_factory=dict)
    invoke_config: dict[str, Any] = field(default_factory=dict)  # EventInvokeConfig: async retries, destinations


@dataclass
class Authorizer:
    function: str
    header: str
    validation: re.Pattern[str] | None


class Template:
    def __init__(
        self,
        path: Path = TEMPLATE_PATH,
        stack_name: str = "oms-webhooks-local",
        aws_endpoint: str = "",
        parameters: dict[str, str] | None = None,
    ) -> None:
        self.path = path
        self.stack_name = stack_name
        self.aws_endpoint = aws_endpoint  # queue URLs point at it
        self.doc: dict[str, Any] = yaml.load(path.read_text(), Loader=_CfnLoader)
        self.resources: dict[str, Any] = self.doc.get("Resources", {})
        self.parameters = {name: str(spec.get("Default", "")) for name, spec in self.doc.get("Parameters", {}).items()}
        unknown = set(parameters or {}) - set(self.parameters)
        if unknown:
            raise ValueError(f"template.yaml has no parameter {', '.join(sorted(unknown))}")
        self.parameters.update(parameters or {})

    def physical_name(self, logical_id: str) -> str:
        """A resource's name: the one the template gives, else one like CloudFormation generates."""
        props = self.resources.get(logical_id, {}).get("Properties", {})
        for key in ("Name", "TableName", "QueueName", "FunctionName", "DashboardName", "LogGroupName", "AlarmName"):
            if key in props:
                return str(self.resolve(props[key]))
        fifo = props.get("FifoQueue") is True  # CloudFormation ends a FIFO queue's generated name with `.fifo`
        return f"{self.stack_name}-{logical_id}" + (".fifo" if fifo else "")

    def _ref(self, logical_id: str) -> str:
        if self.resources[logical_id].get("Type") == "AWS::SQS::Queue":
            return f"{self.aws_endpoint}/{ACCOUNT}/{self.physical_name(logical_id)}"
        return self.physical_name(logical_id)

    def _get_att(self, logical_id: str, attribute: str) -> str:
        kind = self.resources.get(logical_id, {}).get("Type", "")
        name = self.physical_name(logical_id)
        if kind == "AWS::SQS::Queue":
            return name if attribute == "QueueName" else f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"
        return f"arn:local:{logical_id}:{attribute}"

    def of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        return {lid: res for lid, res in self.resources.items() if res.get("Type") == kind}

    def pseudo_parameter(self, name: str) -> str:
        pseudo = {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::StackName": self.stack_name,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }
        return pseudo.get(name, name)

    def resolve(self, value: Any) -> Any:
        """Evaluate the intrinsic functions the template uses, with local names for resources.

        Ref, Fn::GetAtt, Fn::Sub, and Fn::If on the template's Conditions (decided by the parameter values);
        a property or list item that resolves to AWS::NoValue is left out, and a lone one gives None.
        """
        resolved = self._resolve(value)
        return None if resolved is NO_VALUE else resolved

    def _resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [item for item in (self._resolve(v) for v in value) if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if set(value) == {"Ref"}:
            ref = value["Ref"]
            if ref == "AWS::NoValue":
                return NO_VALUE
            if ref in self.parameters:
                return self.parameters[ref]
            if ref in self.resources:
                return self._ref(ref)
            return self.pseudo_parameter(ref)
        if set(value) == {"Fn::GetAtt"}:
            logical_id, attribute = value["Fn::GetAtt"]
            return self._get_att(logical_id, attribute)
        if set(value) == {"Fn::Sub"}:
            return self._sub(value["Fn::Sub"])
        if set(value) == {"Fn::If"}:
            name, when_true, when_false = value["Fn::If"]
            return self._resolve(when_true if self.condition(name) else when_false)
        resolved = {k: self._resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}

    def _sub(self, spec: Any) -> str:
        """`${Name}`, `${Resource.Attribute}`, `${!Literal}`; the list form brings variables of its own."""
        text, variables = (spec[0], spec[1]) if isinstance(spec, list) else (spec, {})

        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(self._resolve(variables[name]))
            if "." in name and name.split(".", 1)[0] in self.resources:
                return str(self._resolve({"Fn::GetAtt": name.split(".", 1)}))
            return str(self._resolve({"Ref": name}))

        return re.sub(r"\$\{([^}]+)\}", one, text)

    def condition(self, name: str) -> bool:
        """A condition of the template's Conditions section, for the current parameter values."""
        conditions = self.doc.get("Conditions", {})
        if name not in conditions:
            raise ValueError(f"template.yaml has no condition {name!r}")
        return self._holds(conditions[name])

    def _holds(self, spec: Any) -> bool:
        if isinstance(spec, dict) and len(spec) == 1:
            [(function, args)] = spec.items()
            if function == "Fn::Equals":
                left, right = (self._resolve(arg) for arg in args)
                return str(left) == str(right)
            if function == "Fn::Not":
                [inner] = args
                return not self._holds(inner)
            if function == "Fn::And":
                return all(self._holds(inner) for inner in args)
            if function == "Fn::Or":
                return any(self._holds(inner) for inner in args)
            if function == "Condition":
                return self.condition(args)
        raise ValueError(f"not a condition function: {spec!r}")

    def functions(self) -> dict[str, Function]:
        defaults = self.doc.get("Globals", {}).get("Function", {})
        base_env = defaults.get("Environment", {}).get("Variables", {})
        found = {}
        for lid, res in self.of_type("AWS::Serverless::Function").items():
            props = res.get("Properties", {})
            env = {**base_env, **props.get("Environment", {}).get("Variables", {})}
            resolved = {name: self.resolve(value) for name, value in env.items()}
            found[lid] = Function(
                logical_id=lid,
                code_uri=self.path.parent / props["CodeUri"],
                handler=props.get("Handler", defaults.get("Handler", "app.lambda_handler")),
                timeout=int(props.get("Timeout", defaults.get("Timeout", 3))),
                memory=int(props.get("MemorySize", defaults.get("MemorySize", 128))),
                environment={name: str(value) for name, value in resolved.items() if value is not None},
                invoke_config=self.resolve(props.get("EventInvokeConfig", {})),
            )
        return found

    def routes(self) -> list[Route]:
        found = []
        for lid, res in self.of_type("AWS::Serverless::Function").items():
            for event in res.get("Properties", {}).get("Events", {}).values():
                if event.get("Type") == "Api":
                    props = event["Properties"]
                    authorized = props.get("Auth", {}).get("Authorizer") != "NONE"
                    found.append(Route(props["Method"].upper(), props["Path"], lid, authorized))
        # API Gateway prefers the most specific resource; a greedy {proxy+} comes last.
        return sorted(found, key=lambda r: ("+}" in r.path, -len(r.path)))

    def api(self) -> dict[str, Any]:
        apis = self.of_type("AWS::Serverless::Api")
        if len(apis) != 1:
            raise ValueError(f"expected one AWS::Serverless::Api in {self.path}, found {len(apis)}")
        return next(iter(apis.values()))["Properties"]

    def authorizer(self) -> Authorizer | None:
        auth = self.api().get("Auth", {})
        name = auth.get("DefaultAuthorizer")
        if not name:
            return None
        spec = auth["Authorizers"][name]
        identity = spec.get("Identity", {})
        expression = identity.get("ValidationExpression")
        return Authorizer(
            function=spec["FunctionArn"]["Fn::GetAtt"][0],
            header=identity.get("Header", "Authorization"),
            validation=re.compile(expression) if expression else None,
        )

    def gateway_response(self, kind: str) -> tuple[int, str] | None:
        spec = self.api().get("GatewayResponses", {}).get(kind)
        if not spec:
            return None
        return int(spec.get("StatusCode", 401)), spec.get("ResponseTemplates", {}).get("application/json", "")

    def triggers(self, kind: str) -> list[tuple[str, str, dict[str, Any]]]:
        """(function, event name, resolved properties) for each event source of one type, e.g. EventBridgeRule."""
        found = []
        for lid, res in self.of_type("AWS::Serverless::Function").items():
            for name, event in res.get("Properties", {}).get("Events", {}).items():
                if event.get("Type") == kind:
                    found.append((lid, name, self.resolve(event.get("Properties", {}))))
        return found

    def queues(self) -> dict[str, dict[str, Any]]:
        """Logical id → resolved properties of each AWS::SQS::Queue, dead-letter queues first."""
        queues = {lid: self.resolve(res.get("Properties", {})) for lid, res in self.of_type("AWS::SQS::Queue").items()}
        return dict(sorted(queues.items(), key=lambda item: "RedrivePolicy" in item[1]))

    def tables(self) -> dict[str, dict[str, Any]]:
        """Logical id → CreateTable arguments, straight from each AWS::DynamoDB::Table."""
        found = {}
        for lid, res in self.of_type("AWS::DynamoDB::Table").items():
            props = self.resolve(res["Properties"])
            args: dict[str, Any] = {
                "TableName": props.get("TableName", self.physical_name(lid)),
                "AttributeDefinitions": props["AttributeDefinitions"],
                "KeySchema": props["KeySchema"],
                "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
            }
            if "GlobalSecondaryIndexes" in props:
                args["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
            if "TimeToLiveSpecification" in props:
                args["_ttl"] = props["TimeToLiveSpecification"]
            found[lid] = args
        return found
