"""`oms-webhooks deliveries list|show|retry|tail`: an owner's delivery log (hook_events), through the API."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

from oms_webhooks_cli.api_client import ApiClient, ApiError, CliError, client_for
from oms_webhooks_cli.commands.output import clip, emit_json, emit_json_line, fields, print_table, short_time, table

TAIL_WINDOW = 100  # `tail` watches the newest deliveries; attempts on older ones are not followed


def api(args: argparse.Namespace) -> ApiClient:
    return client_for(args.api_url, args.token, args.stack_name)


def filters_of(args: argparse.Namespace) -> dict[str, Any]:
    """The API's filters from the options that exist on this command."""
    return {
        "webhook": getattr(args, "webhook", None),
        "event_type": getattr(args, "event_type", None),
        "delivered": getattr(args, "delivered", None),
        "response_http_status": getattr(args, "status_code", None),
        "created_date__gte": getattr(args, "since", None),
        "created_date__lte": getattr(args, "until", None),
    }


def list_(args: argparse.Namespace) -> int:
    deliveries = api(args).list_deliveries(filters_of(args), args.limit)
    if args.json:
        emit_json(deliveries)
        return 0
    rows = [
        (
            d["uuid"],
            hook_id(d),
            d["event_type"],
            d["status"],
            d.get("response_http_status"),
            len(d.get("attempts") or []),
            short_time(d.get("created_date")),
        )
        for d in deliveries
    ]
    print_table(["UUID", "HOOK", "EVENT TYPE", "STATUS", "HTTP", "ATTEMPTS", "CREATED"], rows, "no deliveries")
    return 0


def show(args: argparse.Namespace) -> int:
    delivery = api(args).get_delivery(args.uuid)
    if args.json:
        emit_json(delivery)
        return 0
    print(
        fields(
            [
                ("id", delivery.get("id")),
                ("uuid", delivery.get("uuid")),
                ("webhook", hook_id(delivery)),
                ("event_type", delivery.get("event_type")),
                ("status", delivery.get("status")),
                ("delivered", delivery.get("delivered")),
                ("retry_count", delivery.get("retry_count")),
                ("next_attempt_at", delivery.get("next_attempt_at")),
                ("response_http_status", delivery.get("response_http_status")),
                ("response_time", seconds(delivery.get("response_time"))),
                ("response_content", clip(str(delivery.get("response_content") or "-"), 500)),
                ("created_date", delivery.get("created_date")),
                ("modified_date", delivery.get("modified_date")),
                ("request_payload", delivery.get("request_payload")),
            ]
        )
    )
    attempts = delivery.get("attempts") or []
    if attempts:
        rows = [
            (n, a.get("at"), outcome_of(a), seconds(a.get("duration")), "manual" if a.get("manual") else "")
            for n, a in enumerate(attempts, 1)
        ]
        print()
        print(table(["#", "AT", "RESULT", "DURATION", ""], rows))
    return 0


def retry(args: argparse.Namespace) -> int:
    outcome = api(args).retry_delivery(args.uuid, force=args.force)
    delivered = bool(outcome.get("delivered"))
    if args.json:
        emit_json(outcome)
    elif outcome.get("queued"):  # an ordered hook's failed delivery: it goes after what waits in its object's queue
        waits = f", which waits for {outcome['waits_for']}" if outcome.get("waits_for") else ""
        print(f"queued behind the earlier deliveries of its object{waits}")
        return 0
    else:
        status = outcome.get("response_status")
        result = f"HTTP {status}" if status is not None else "no answer"
        took = seconds(outcome.get("response_time"))
        content = clip(" ".join(str(outcome.get("response_content") or "").split()), 200)
        print(
            f"{'delivered' if delivered else 'not delivered'}: {result} in {took}" + (f": {content}" if content else "")
        )
    return 0 if delivered else 1


def tail(args: argparse.Namespace) -> int:
    """The latest attempts; with --follow, then every new attempt as it happens, until Ctrl-C."""
    client = api(args)
    window = max(args.lines, TAIL_WINDOW)
    seen: dict[str, int] = {}
    show = emit_attempt_json if args.json else emit_attempt_line
    try:
        latest = new_attempts(client.list_deliveries(filters_of(args), window), seen)
        for attempt in latest[-args.lines :] if args.lines else []:
            show(attempt)
        if not latest and not args.follow:
            print("no delivery attempts", file=sys.stderr)
        if args.follow:
            follow(lambda: client.list_deliveries(filters_of(args), window), seen, show, args.interval)
    except KeyboardInterrupt:
        pass
    return 0


def follow(
    fetch: Callable[[], list[dict[str, Any]]],
    seen: dict[str, int],
    show: Callable[[dict[str, Any]], None],
    interval: float,
) -> None:
    """Polls until interrupted. A failed poll is said once on stderr and tried again; an API refusal ends it."""
    failing = False
    while True:
        time.sleep(interval)
        try:
            deliveries = fetch()
        except ApiError as exc:
            if exc.status < 500:  # the token was revoked, the filters are wrong, ...: polling again won't help
                raise
            failing = _say_once(exc, failing)
            continue
        except CliError as exc:
            failing = _say_once(exc, failing)
            continue
        if failing:
            print("oms-webhooks: reconnected", file=sys.stderr, flush=True)
            failing = False
        for attempt in new_attempts(deliveries, seen):
            show(attempt)


def _say_once(error: CliError, failing: bool) -> bool:
    if not failing:
        print(f"oms-webhooks: {error} (still trying)", file=sys.stderr, flush=True)
    return True


def new_attempts(deliveries: Iterable[dict[str, Any]], seen: dict[str, int]) -> list[dict[str, Any]]:
    """The attempts not reported yet, oldest first, keyed on (delivery uuid, attempt number); marks them seen."""
    found = []
    for delivery in deliveries:
        attempts = delivery.get("attempts") or []
        already = seen.get(delivery["uuid"], 0)
        for number, attempt in enumerate(attempts[already:], already + 1):
            found.append(
                {
                    "uuid": delivery["uuid"],
                    "webhook": hook_id(delivery),
                    "event_type": delivery.get("event_type"),
                    "attempt": number,
                    **attempt,
                    "delivery_status": delivery.get("status"),
                }
            )
        seen[delivery["uuid"]] = max(already, len(attempts))
    return sorted(found, key=lambda a: (str(a.get("at")), a["uuid"], a["attempt"]))


def emit_attempt_line(attempt: dict[str, Any]) -> None:
    manual = " manual" if attempt.get("manual") else ""
    print(
        f"{short_time(attempt.get('at'))}  {attempt['uuid']}  hook {attempt.get('webhook')!s:<5} "
        f"{attempt.get('event_type')!s:<30} #{attempt['attempt']:<3} {outcome_of(attempt):<24} "
        f"{seconds(attempt.get('duration')):>8}  {attempt.get('delivery_status')}{manual}",
        flush=True,
    )


def emit_attempt_json(attempt: dict[str, Any]) -> None:
    emit_json_line(attempt)


def outcome_of(attempt: dict[str, Any]) -> str:
    if attempt.get("status_code") is not None:
        return f"HTTP {attempt['status_code']}"
    return clip(str(attempt.get("error") or "no answer"), 40)


def hook_id(delivery: dict[str, Any]) -> Any:
    """`webhook` is the hook, nested as whisperer nests it (an id alone from older servers)."""
    webhook = delivery.get("webhook")
    return webhook.get("id") if isinstance(webhook, dict) else webhook


def seconds(value: Any) -> str:
    """A duration as the API gives it: DRF's `[D ]HH:MM:SS[.ffffff]`, seconds as text, or a number of seconds."""
    if isinstance(value, str):
        days, _, clock = value.rpartition(" ")
        try:
            parts = [float(part) for part in clock.split(":")]
            value = float(days or 0) * 86400 + sum(part * 60**power for power, part in enumerate(reversed(parts)))
        except ValueError:
            return "-"
    return f"{float(value):.3f} s" if isinstance(value, int | float) else "-"
