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
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from oms_webhooks_cli.api_client import TOKEN_ENV, CliError
from oms_webhooks_cli.commands import deliveries, hooks, portal, self_service, tokens
from oms_webhooks_cli.endpoint import find_target


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    try:
        return int(args.run(args) or 0)
    except CliError as exc:
        print(f"oms-webhooks: {exc}", file=sys.stderr)
        return exc.exit_code
    except (LookupError, ValueError, OSError) as exc:
        print(f"oms-webhooks: {exc}", file=sys.stderr)
        return 1
    except (BotoCoreError, ClientError) as exc:
        hint = "" if args.stack_name else "; is the local stack running? Start it with `make run`"
        print(f"oms-webhooks: AWS: {exc}{hint}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # e.g. `oms-webhooks deliveries tail -f | head -1`: the reader has gone, quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
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
    local.add_argument(
        "--stop-with-parent",
        action="store_true",
        help="also stop when standard input ends: a pipe from the process that started this one, closed however "
        "that process ends (tests and benchmarks use it, so a killed run leaves no stack behind)",
    )
    local.set_defaults(run=_local)

    invoke = commands.add_parser(
        "invoke",
        help="run one template function on an event file against the local stack (sam local invoke, no Docker)",
    )
    invoke.add_argument("function", help="the function's logical id in template.yaml, e.g. ApiFunction")
    invoke.add_argument("-e", "--event", required=True, help="an event file, e.g. events/api/hooks-list.json")
    invoke.set_defaults(run=_invoke)

    # Every day-to-day command prints text (a table, or one object's fields) by default, JSON with --json.
    output = argparse.ArgumentParser(add_help=False)
    output.add_argument("--json", action="store_true", help="print JSON on stdout (for scripts) instead of text")

    publish = commands.add_parser(
        "publish", parents=[output], help="publish an OMS event to the bus, as the OMS does; prints the event id"
    )
    publish.add_argument("event_type", help="a catalog event type, e.g. package.created")
    publish.add_argument("--payload", required=True, help="the payload as JSON, or @file.json")
    publish.set_defaults(run=_publish)

    token_commands = _group(commands, "token", "API tokens (operator commands, on the stack's tokens table)")
    create = token_commands.add_parser(
        "create", parents=[output], help="create a token for an owner and print it (shown only once)"
    )
    create.add_argument("--owner", required=True)
    create.add_argument("--label", default="")
    create.set_defaults(run=tokens.create)
    token_list = token_commands.add_parser(
        "list", parents=[output], help="list tokens (hash prefix, owner, label, created); never the tokens"
    )
    token_list.add_argument(
        "--owner", help="only this owner's tokens (a Query); without it every token is listed (a Scan)"
    )
    token_list.set_defaults(run=tokens.list_)
    revoke = token_commands.add_parser(
        "revoke", parents=[output], help="revoke a token (on AWS the gateway may accept it for up to 60 s more)"
    )
    revoke.add_argument("token", help="the token itself, its SHA-256, or its hash prefix as `token list` shows it")
    revoke.add_argument("--owner", help="only revoke it if it is this owner's (also narrows a prefix search)")
    revoke.set_defaults(run=tokens.revoke)

    # hooks and deliveries act as an owner, through the API (its authorizer and validation), with the owner's token.
    owner = argparse.ArgumentParser(add_help=False, parents=[output])
    owner.add_argument("--token", default=None, help=f"the owner's API token (default: ${TOKEN_ENV})")
    owner.add_argument(
        "--api-url",
        default=None,
        help="the API's base URL (default: the stack's ApiUrl output), e.g. https://.../prod/",
    )

    hook_commands = _group(commands, "hooks", "an owner's hooks (subscriptions), through the API")
    hook_list = hook_commands.add_parser("list", parents=[owner], help="list hooks")
    hook_list.add_argument("--event-type")
    hook_list.add_argument("--target-url")
    active = hook_list.add_mutually_exclusive_group()
    active.add_argument("--active", dest="active", action="store_const", const=True, help="only active hooks")
    active.add_argument("--inactive", dest="active", action="store_const", const=False, help="only inactive hooks")
    hook_list.add_argument("--limit", type=positive, default=500, help="at most this many (default 500)")
    hook_list.set_defaults(run=hooks.list_, active=None)
    hook_show = hook_commands.add_parser("show", parents=[owner], help="show one hook")
    hook_show.add_argument("hook_id", type=int, metavar="ID")
    hook_show.set_defaults(run=hooks.show)
    hook_create = hook_commands.add_parser("create", parents=[owner], help="subscribe a URL to an event type")
    hook_create.add_argument("--event-type", required=True, help="e.g. package.created (or package-created)")
    hook_create.add_argument("--target-url", required=True)
    hook_create.add_argument("--secret-key", help="signs every delivery (write-only: never shown again)")
    hook_create.add_argument(
        "--retry-config",
        metavar="JSON",
        help='retry_countdown_config as JSON or @file, e.g. \'{"choice":"fixed","kwargs":{"seconds":60}}\'',
    )
    hook_create.add_argument(
        "--header", action="append", nargs="+", metavar="NAME=VALUE", help="an additional header (repeatable)"
    )
    hook_create.add_argument("--inactive", action="store_true", help="create it switched off")
    hook_create.add_argument(
        "--ordering",
        choices=("none", "object"),
        help="object: each OMS object's deliveries one at a time, in the order of its events (default none)",
    )
    hook_create.set_defaults(run=hooks.create)
    hook_delete = hook_commands.add_parser("delete", parents=[owner], help="unsubscribe (delete) a hook")
    hook_delete.add_argument("hook_id", type=int, metavar="ID")
    hook_delete.set_defaults(run=hooks.delete)

    delivery_commands = _group(
        commands, "deliveries", "an owner's delivery log (hook_events), through the API: list, show, retry, tail"
    )
    selection = argparse.ArgumentParser(add_help=False)
    selection.add_argument("--webhook", type=int, metavar="HOOK_ID", help="only this hook's deliveries")
    selection.add_argument("--event-type")
    delivery_list = delivery_commands.add_parser(
        "list", parents=[owner, selection], help="list deliveries, newest first"
    )
    delivered = delivery_list.add_mutually_exclusive_group()
    delivered.add_argument("--delivered", dest="delivered", action="store_const", const=True, help="only delivered")
    delivered.add_argument(
        "--failed", dest="delivered", action="store_const", const=False, help="only not delivered (yet)"
    )
    delivery_list.add_argument("--status-code", type=int, help="only those whose last answer had this HTTP status")
    delivery_list.add_argument("--since", metavar="ISO", help="created at or after, e.g. 2024-05-01T12:00:00Z")
    delivery_list.add_argument("--until", metavar="ISO", help="created at or before")
    delivery_list.add_argument("--limit", type=positive, default=50, help="at most this many (default 50)")
    delivery_list.set_defaults(run=deliveries.list_, delivered=None)
    delivery_show = delivery_commands.add_parser("show", parents=[owner], help="one delivery with all its attempts")
    delivery_show.add_argument("uuid", help="the delivery's uuid or integer id")
    delivery_show.set_defaults(run=deliveries.show)
    delivery_retry = delivery_commands.add_parser(
        "retry", parents=[owner], help="redeliver now; exit 0 if delivered, else 1"
    )
    delivery_retry.add_argument("uuid", help="the delivery's uuid or integer id")
    delivery_retry.add_argument("--force", action="store_true", help="even while its scheduled retries are running")
    delivery_retry.set_defaults(run=deliveries.retry)
    delivery_tail = delivery_commands.add_parser(
        "tail",
        parents=[owner, selection],
        help="the latest delivery attempts; with --follow, new ones as they happen (Ctrl-C stops)",
        description=f"Watches the newest {deliveries.TAIL_WINDOW} deliveries (newest first). "
        "With --json, prints one JSON object per attempt per line.",
    )
    delivery_tail.add_argument("-n", "--lines", type=non_negative, default=20, help="latest attempts shown first")
    delivery_tail.add_argument("-f", "--follow", action="store_true", help="keep printing new attempts")
    delivery_tail.add_argument("--interval", type=interval, default=1.0, help="seconds between polls (default 1)")
    delivery_tail.set_defaults(run=deliveries.tail)
    self_service.add_commands(hook_commands, delivery_commands, owner)
    portal.add_commands(commands, _group, owner)
    return parser


def _local(args: argparse.Namespace) -> int:
    from oms_webhooks_cli.local.parent_watch import stop_at_end_of_input
    from oms_webhooks_cli.local.stack import LocalStack

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's own access log is noise here
    overrides = dict(item.split("=", 1) for item in args.parameter_overrides if "=" in item)
    if len(overrides) != len(args.parameter_overrides):
        raise ValueError("--parameter-overrides takes KEY=VALUE pairs")
    stack = LocalStack(args.host, args.aws_port, args.api_port, overrides)
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):  # SIGINT too: a background launch may have it ignored
        signal.signal(signum, lambda *_: stopping.set())
    if args.stop_with_parent:
        stop_at_end_of_input(stopping)
    try:
        stack.start()
        print(f"AWS endpoint (moto): {stack.aws_endpoint}", file=sys.stderr)
        print(f"API:                 {stack.api_url}/whisperer/hooks/", file=sys.stderr)
        print("Loopback targets are allowed on this local stack (never on a deployed one).", file=sys.stderr)
        print("Ready. Ctrl-C stops.", file=sys.stderr, flush=True)
        while not stopping.wait(0.5):
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
    from oms_webhooks.domain.event_catalog import canonical_event_type

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
    if args.json:
        print(json.dumps({"event_id": entry["EventId"], "event_type": event_type}))
    else:
        print(entry["EventId"])
    return 0


def _group(commands: Any, name: str, help: str) -> Any:
    """A command with commands of its own; alone, it prints its help."""
    group = commands.add_parser(name, help=help, description=help)
    group.set_defaults(run=lambda _: group.print_help(sys.stderr) or 2)
    return group.add_subparsers(title=f"{name} commands")


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def interval(text: str) -> float:
    value = float(text)
    if value < 0.1:
        raise argparse.ArgumentTypeError(f"must be at least 0.1 s, got {value}")
    return value


def non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


if __name__ == "__main__":
    sys.exit(main())
