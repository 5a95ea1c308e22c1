"""`oms-webhooks`: the local stack and the day-to-day commands, against the local stack or a deployed one."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from oms_webhooks_cli.endpoint import find_target


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    try:
        return int(args.run(args) or 0)
    except (LookupError, ValueError) as exc:
        print(f"oms-webhooks: {exc}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="oms-webhooks", description=__doc__)
    parser.add_argument(
        "--stack-name",
        default=os.environ.get("OMS_WEBHOOKS_STACK"),
        help="a deployed CloudFormation stack to talk to (default: the running local stack)",
    )
    commands = parser.add_subparsers(title="commands")

    local = commands.add_parser("local", help="run the local stack in the foreground (Ctrl-C stops it)")
    local.add_argument("--host", default="127.0.0.1")
    local.add_argument("--aws-port", type=int, default=int(os.environ.get("OMS_WEBHOOKS_AWS_PORT", "4566")))
    local.add_argument("--api-port", type=int, default=int(os.environ.get("OMS_WEBHOOKS_API_PORT", "3000")))
    local.add_argument(
        "--parameter-overrides",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="template parameters, as for sam deploy, e.g. DeliveryTotalTimeout=3",
    )
    local.set_defaults(run=_local)

    invoke = commands.add_parser(
        "invoke",
        help="run one template function on an event file against the local stack (sam local invoke, no Docker)",
    )
    invoke.add_argument("function", help="the function's logical id in template.yaml, e.g. ApiFunction")
    invoke.add_argument("-e", "--event", required=True, help="an event file, e.g. events/api/hooks-list.json")
    invoke.set_defaults(run=_invoke)

    publish = commands.add_parser("publish", help="publish an OMS event to the bus, as the OMS does")
    publish.add_argument("event_type", help="a catalog event type, e.g. package.created")
    publish.add_argument("--payload", required=True, help="the payload as JSON, or @file.json")
    publish.set_defaults(run=_publish)

    token = commands.add_parser("token", help="API tokens").add_subparsers(title="token commands")
    create = token.add_parser("create", help="create a token for an owner and print it (shown only once)")
    create.add_argument("--owner", required=True)
    create.add_argument("--label", default="")
    create.set_defaults(run=_token_create)
    return parser


def _local(args: argparse.Namespace) -> int:
    from oms_webhooks_cli.local.stack import LocalStack

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's own access log is noise here
    overrides = dict(item.split("=", 1) for item in args.parameter_overrides if "=" in item)
    if len(overrides) != len(args.parameter_overrides):
        raise ValueError("--parameter-overrides takes KEY=VALUE pairs")
    stack = LocalStack(args.host, args.aws_port, args.api_port, overrides)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    stack.start()
    print(f"AWS endpoint (moto): {stack.aws_endpoint}", file=sys.stderr)
    print(f"API:                 {stack.api_url}/whisperer/hooks/", file=sys.stderr)
    print("Loopback targets are allowed on this local stack (never on a deployed one).", file=sys.stderr)
    print("Ready. Ctrl-C stops.", file=sys.stderr, flush=True)
    try:
        while not stopping.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        stack.stop()
        print("Stopped.", file=sys.stderr)
    return 0


def _invoke(args: argparse.Namespace) -> int:
    from oms_webhooks_cli.local.invoke import invoke_locally

    event = json.loads(Path(args.event).read_text())
    with contextlib.redirect_stdout(sys.stderr):  # the function's logs go to stderr, its answer alone to stdout
        succeeded, result = invoke_locally(args.function, event, find_target(args.stack_name))
    print(json.dumps(result, indent=2, default=str))
    return 0 if succeeded else 1


def _publish(args: argparse.Namespace) -> int:
    from oms_webhooks.catalog import canonical_event_type

    event_type = canonical_event_type(args.event_type)
    if event_type is None:
        raise ValueError(f"unknown event type {args.event_type!r}; see `GET /whisperer/hooks/registry/`")
    text = Path(args.payload[1:]).read_text() if args.payload.startswith("@") else args.payload
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"--payload is not valid JSON: {exc}") from None
    target = find_target(args.stack_name)
    answer = target.client("events").put_events(
        Entries=[
            {
                "EventBusName": target.output("EventBusName"),
                "Source": target.output("EventSource"),
                "DetailType": event_type,
                "Detail": json.dumps({"payload": payload}),
            }
        ]
    )
    entry = answer["Entries"][0]
    if answer.get("FailedEntryCount") or "EventId" not in entry:
        raise ValueError(f"EventBridge refused the event: {entry.get('ErrorCode')} {entry.get('ErrorMessage')}")
    print(entry["EventId"])
    return 0


def _token_create(args: argparse.Namespace) -> int:
    from oms_webhooks.tokens import TokenStore

    target = find_target(args.stack_name)
    store = TokenStore(target.output("TokensTableName"), client=target.client("dynamodb"))
    print(store.create(args.owner, args.label))
    return 0


if __name__ == "__main__":
    sys.exit(main())
