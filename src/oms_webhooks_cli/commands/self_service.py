"""`oms-webhooks hooks rotate-secret|test|recover|stats` and `deliveries recover`: an integrator's self-service."""

from __future__ import annotations

import argparse
from typing import Any

from oms_webhooks_cli.api_client import ApiClient, client_for
from oms_webhooks_cli.commands.output import clip, emit_json, fields, print_table, short_time


def api(args: argparse.Namespace) -> ApiClient:
    return client_for(args.api_url, args.token, args.stack_name)


def rotate_secret(args: argparse.Namespace) -> int:
    answer = api(args).rotate_secret(args.hook_id, args.secret_key, args.overlap)
    if args.json:
        emit_json(answer)
        return 0
    print(f"rotated the secret of hook {args.hook_id}")
    if answer.get("secret_key"):
        print(f"new secret: {answer['secret_key']}  (shown this once: store it now)")
    expires = answer.get("previous_secret_expires_at")
    print(f"old secret: {'signs too until ' + expires if expires else 'no longer signs'}")
    return 0


def send_test(args: argparse.Namespace) -> int:
    delivery = api(args).send_test_event(args.hook_id)
    if args.json:
        emit_json(delivery)
    else:
        print(f"{delivery.get('detail')}  (test delivery {delivery.get('uuid')})")
        content = clip(" ".join(str(delivery.get("response_content") or "").split()), 200)
        if content:
            print(f"answer: {content}")
    return 0 if delivery.get("delivered") else 1


def recover(args: argparse.Namespace) -> int:
    """Both `hooks recover ID` and `deliveries recover` (every hook, optionally one event type)."""
    hook_id = getattr(args, "hook_id", None)
    answer = api(args).recover(
        args.since, args.until, args.include_retrying, hook_id=hook_id, event_type=getattr(args, "event_type", None)
    )
    if args.json:
        emit_json(answer)
    else:
        whose = f"hook {hook_id}" if hook_id is not None else "every hook"
        print(
            f"queued {answer.get('queued')} deliveries of {whose} for one more attempt "
            f"(created {short_time(answer.get('since'))} to {short_time(answer.get('until'))})"
        )
    return 0


def stats(args: argparse.Namespace) -> int:
    answer = api(args).hook_stats(args.hook_id, args.period)
    if args.json:
        emit_json(answer)
        return 0
    attempts, deliveries, latency = answer["attempts"], answer["deliveries"], answer["latency_ms"]
    rate = answer.get("success_rate")
    print(
        fields(
            [
                ("period", f"{answer['period']} ({short_time(answer['since'])} to {short_time(answer['until'])})"),
                ("attempts", f"{attempts['total']} ({attempts['succeeded']} ok, {attempts['failed']} failed)"),
                ("success_rate", f"{rate:.1%}" if rate is not None else None),
                ("deliveries", ", ".join(f"{k} {v}" for k, v in deliveries.items())),
                ("latency_ms", ", ".join(f"{k} {_ms(v)}" for k, v in latency.items())),
                ("last_success_at", answer.get("last_success_at")),
                ("last_failure_at", answer.get("last_failure_at")),
            ]
        )
    )
    rows = [
        (short_time(b["start"]), b["delivered"], b["failed"], b["retrying"], b["attempts"], _ms(b["p95_ms"]))
        for b in answer["series"]
        if b["attempts"] or b["delivered"] or b["failed"] or b["retrying"]
    ]
    if rows:
        print()
    print_table(
        [answer["bucket"].upper(), "DELIVERED", "FAILED", "RETRYING", "ATTEMPTS", "P95 MS"], rows, "no deliveries"
    )
    return 0


def _ms(value: Any) -> str:
    return f"{value:.1f}" if isinstance(value, int | float) else "-"


def add_commands(hooks: Any, deliveries: Any, owner: argparse.ArgumentParser) -> None:
    """Registers the commands under `hooks` and `deliveries` (their subparsers), with the owner's options."""
    rotate = hooks.add_parser(
        "rotate-secret", parents=[owner], help="a new signing secret; the old one keeps signing for an overlap"
    )
    rotate.add_argument("hook_id", type=int, metavar="ID")
    rotate.add_argument("--secret-key", help="the new secret (default: one is generated and printed once)")
    rotate.add_argument(
        "--overlap", type=int, metavar="SECONDS", help="how long the old secret signs too (default 86400, at most 7 d)"
    )
    rotate.set_defaults(run=rotate_secret)

    test = hooks.add_parser(
        "test", parents=[owner], help="send a signed webhook.test event now; exit 0 if delivered, else 1"
    )
    test.add_argument("hook_id", type=int, metavar="ID")
    test.set_defaults(run=send_test)

    window = argparse.ArgumentParser(add_help=False)
    window.add_argument("--since", required=True, metavar="ISO", help="created at or after, e.g. 2024-05-01T12:00Z")
    window.add_argument("--until", metavar="ISO", help="created at or before (default: now)")
    window.add_argument(
        "--include-retrying", action="store_true", help="also those still on their retry schedule (tried now)"
    )
    recover_hook = hooks.add_parser(
        "recover", parents=[owner, window], help="re-send, once each, the hook's deliveries that failed in a window"
    )
    recover_hook.add_argument("hook_id", type=int, metavar="ID")
    recover_hook.set_defaults(run=recover)

    stats_command = hooks.add_parser("stats", parents=[owner], help="how the hook's endpoint did over a period")
    stats_command.add_argument("hook_id", type=int, metavar="ID")
    stats_command.add_argument("--period", choices=["24h", "7d", "30d"], default=None, help="default 24h")
    stats_command.set_defaults(run=stats)

    recover_all = deliveries.add_parser(
        "recover", parents=[owner, window], help="re-send, once each, every hook's deliveries that failed in a window"
    )
    recover_all.add_argument("--event-type", help="only deliveries of this event type")
    recover_all.set_defaults(run=recover)
