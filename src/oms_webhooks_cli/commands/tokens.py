"""`oms-webhooks token create|list|revoke`: operator commands on the tokens table of the target stack."""

from __future__ import annotations

import argparse
import sys

from oms_webhooks.adapters.tokens import TokenInfo, TokenStore, token_hash
from oms_webhooks_cli.commands.output import emit_json, print_table, short_time
from oms_webhooks_cli.endpoint import find_target


def token_store(stack_name: str | None) -> TokenStore:
    target = find_target(stack_name)
    return TokenStore(target.output("TokensTableName"), client=target.client("dynamodb"))


def create(args: argparse.Namespace) -> int:
    token = token_store(args.stack_name).create(args.owner, args.label)
    if args.json:
        prefix = TokenInfo(args.owner, token_hash(token), "").hash_prefix
        emit_json({"token": token, "token_hash_prefix": prefix, "owner": args.owner, "label": args.label})
    else:
        print(token)  # alone, so that TOKEN=$(oms-webhooks token create --owner acme) works
    return 0


def list_(args: argparse.Namespace) -> int:
    tokens = token_store(args.stack_name).list(args.owner)
    if args.json:
        emit_json([info.public() for info in tokens])
        return 0
    rows = [(t.hash_prefix, t.owner, t.label, short_time(t.created_date)) for t in tokens]
    print_table(["HASH", "OWNER", "LABEL", "CREATED"], rows, "no tokens" + (f" for {args.owner}" if args.owner else ""))
    return 0


def revoke(args: argparse.Namespace) -> int:
    revoked = token_store(args.stack_name).revoke(args.token, args.owner)
    if args.json:
        emit_json({"revoked": revoked.public()})
    else:
        print(
            f"revoked token {revoked.hash_prefix} of {revoked.owner}" + (f" ({revoked.label})" if revoked.label else "")
        )
    if args.stack_name:
        print(
            "note: API Gateway may keep accepting it until its cached authorization expires "
            "(ReauthorizeEvery in template.yaml, 60 s)",
            file=sys.stderr,
        )
    return 0
