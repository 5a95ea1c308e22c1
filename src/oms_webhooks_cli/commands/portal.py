"""`oms-webhooks portal link`: a console link for an integrator, opened with the owner's token through the API."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from oms_webhooks.rules.portal_sessions import DEFAULT_TTL_SECONDS, MAX_TTL_SECONDS, MIN_TTL_SECONDS
from oms_webhooks_cli.api_client import client_for
from oms_webhooks_cli.commands.output import emit_json


def link(args: argparse.Namespace) -> int:
    opened = client_for(args.api_url, args.token, args.stack_name).open_portal_session(args.ttl, args.read_only)
    if args.json:
        emit_json(opened)
        return 0
    print(opened["url"])  # alone on stdout, for scripts; it holds the session's token: hand it over privately
    rights = "read-only" if opened.get("read_only") else "may change hooks"
    print(f"portal session ({rights}) until {opened['expires_at']}", file=sys.stderr)
    return 0


def ttl(text: str) -> int:
    value = int(text)
    if not MIN_TTL_SECONDS <= value <= MAX_TTL_SECONDS:
        raise argparse.ArgumentTypeError(f"must be {MIN_TTL_SECONDS} to {MAX_TTL_SECONDS} seconds, got {value}")
    return value


def add_commands(commands: Any, group: Any, owner: argparse.ArgumentParser) -> None:
    """Registers `portal link` under `commands`, with the owner's options; `group` makes a command group."""
    portal = group(commands, "portal", "console links for integrators (portal sessions), through the API")
    command = portal.add_parser(
        "link",
        parents=[owner],
        help="open a portal session and print its console link, which signs in as the owner until it expires",
    )
    command.add_argument(
        "--ttl",
        type=ttl,
        default=DEFAULT_TTL_SECONDS,
        metavar="SECONDS",
        help=f"how long the link works: {MIN_TTL_SECONDS} to {MAX_TTL_SECONDS} (default {DEFAULT_TTL_SECONDS})",
    )
    command.add_argument("--read-only", action="store_true", help="the link may look but change nothing")
    command.set_defaults(run=link)
