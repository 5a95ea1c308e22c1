"""`oms-webhooks hooks list|show|create|delete`: an owner's hooks, through the API with the owner's token."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from oms_webhooks_cli.api_client import ApiClient, client_for
from oms_webhooks_cli.commands.output import emit_json, fields, print_table, short_time


def api(args: argparse.Namespace) -> ApiClient:
    return client_for(args.api_url, args.token, args.stack_name)


def list_(args: argparse.Namespace) -> int:
    filters = {"event_type": args.event_type, "target_url": args.target_url, "is_active": args.active}
    hooks = api(args).list_hooks(filters, args.limit)
    if args.json:
        emit_json(hooks)
        return 0
    rows = [
        (
            h["id"],
            h["event_type"],
            h["target_url"],
            h["is_active"],
            h.get("secret_key_set"),
            retry_summary(h.get("retry_countdown_config")),
            short_time(h.get("created_date")),
        )
        for h in hooks
    ]
    print_table(["ID", "EVENT TYPE", "TARGET URL", "ACTIVE", "SECRET", "RETRIES", "CREATED"], rows, "no hooks")
    return 0


def show(args: argparse.Namespace) -> int:
    print_hook(api(args).get_hook(args.hook_id), args.json)
    return 0


def create(args: argparse.Namespace) -> int:
    body: dict[str, Any] = {
        "event_type": args.event_type,
        "target_url": args.target_url,
        "is_active": not args.inactive,
    }
    if args.secret_key is not None:
        body["secret_key"] = args.secret_key
    if args.retry_config is not None:
        body["retry_countdown_config"] = json_argument("--retry-config", args.retry_config)
    if args.header:
        body["additional_headers"] = parse_headers([h for group in args.header for h in group])
    if args.ordering is not None:
        body["ordering"] = args.ordering
    print_hook(api(args).create_hook(body), args.json)
    return 0


def delete(args: argparse.Namespace) -> int:
    api(args).delete_hook(args.hook_id)
    if args.json:
        emit_json({"deleted": args.hook_id})
    else:
        print(f"deleted hook {args.hook_id}")
    return 0


def print_hook(hook: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json(hook)
        return
    print(
        fields(
            [
                ("id", hook.get("id")),
                ("event_type", hook.get("event_type")),
                ("target_url", hook.get("target_url")),
                ("is_active", hook.get("is_active")),
                ("secret_key_set", hook.get("secret_key_set")),
                ("retry_countdown_config", hook.get("retry_countdown_config")),
                ("additional_headers", hook.get("additional_headers") or None),
                ("created_date", hook.get("created_date")),
                ("modified_date", hook.get("modified_date")),
            ]
        )
    )


def retry_summary(config: dict[str, Any] | None) -> str:
    """`{"choice":"fixed","kwargs":{"seconds":60},"max_retries":0}` as `fixed(seconds=60) max 0`."""
    if not config:
        return "-"
    kwargs = ",".join(f"{k}={v}" for k, v in (config.get("kwargs") or {}).items())
    summary = f"{config.get('choice')}({kwargs})"
    return summary + (f" max {config['max_retries']}" if config.get("max_retries") is not None else "")


def json_argument(option: str, text: str) -> Any:
    """A JSON option value, or @file with the JSON in it."""
    if text.startswith("@"):
        text = Path(text[1:]).read_text()
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{option} is not valid JSON: {exc}") from None


def parse_headers(items: list[str]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"--header takes NAME=VALUE, got {item!r}")
        headers[name.strip()] = value
    return headers
