"""DynamoDB access for hooks: one item per hook, plus one per (owner, event_type, target_url) to keep it unique.

Keys: `owner` (partition) and `sk` (`HOOK#<id>` or `UNIQUE#<digest>`). Active hooks also carry
`active_event_type`, the partition key of the sparse `ActiveByEventType` index that the dispatcher queries: the event
type, or for an operational one (`whisperer.*`) the type and the owner (`dispatch_key`), since an operational event
goes to the hooks of the one owner it is about and the dispatcher should read no other's.
That index projects only `dispatch`, a compact JSON of what a delivery needs, so a fan-out reads small
items: fewer 1 MB pages per Query and less to parse.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from functools import cache, lru_cache
from typing import Any

from botocore.exceptions import ClientError
from pydantic import TypeAdapter
from pydantic_core import to_jsonable_python

from oms_webhooks.adapters.aws import DynamoDBTable
from oms_webhooks.adapters.circuit_store import circuits_key, reset_update
from oms_webhooks.adapters.dynamodb_batches import batch_get
from oms_webhooks.adapters.items import from_item, to_item
from oms_webhooks.clock import now
from oms_webhooks.domain.errors import DuplicateHook, NotFound
from oms_webhooks.domain.hook_config import BasicAuth, HookConfig
from oms_webhooks.domain.hooks import HOOK_ID_DIGITS, Hook, HookTarget
from oms_webhooks.domain.operational_events import is_operational
from oms_webhooks.domain.retry_countdown import RetryCountdownConfig

ACTIVE_INDEX = "ActiveByEventType"
_COUNTER_OWNER = "#counter"  # owner names never start with '#'
_VERSION_OWNER = "#version"  # one item per event type: its active hooks' version
_HOOK_PREFIX = "HOOK#"
_COUNTDOWN = TypeAdapter(RetryCountdownConfig)


def hook_sk(hook_id: int) -> str:
    return f"{_HOOK_PREFIX}{hook_id:0{HOOK_ID_DIGITS}d}"


def dispatch_key(event_type: str, owner: str | None = None) -> str:
    """Where the dispatcher finds a type's active hooks (and their version): the type, or for an operational type
    the type and its owner, so that an operational event reads its owner's hooks alone."""
    return f"{event_type}#{owner}" if owner is not None and is_operational(event_type) else event_type


def event_type_of(key: str) -> str:
    return key.split("#", 1)[0]


def _key_of(hook: HookTarget) -> str:
    return dispatch_key(hook.event_type, hook.owner)


def unique_sk(event_type: str, target_url: str) -> str:
    digest = hashlib.sha256(f"{event_type}\n{target_url}".encode()).hexdigest()
    return f"UNIQUE#{digest}"


class HookStore(DynamoDBTable):
    def next_id(self) -> int:
        """Whisperer ids are integers; an atomic counter keeps them so."""
        answer = self.client.update_item(
            TableName=self.table,
            Key={"owner": {"S": _COUNTER_OWNER}, "sk": {"S": "HOOK_ID"}},
            UpdateExpression="ADD next_id :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
            ReturnValues="UPDATED_NEW",
        )
        return int(answer["Attributes"]["next_id"]["N"])

    def get(self, owner: str, hook_id: int) -> Hook:
        answer = self.client.get_item(
            TableName=self.table,
            Key={"owner": {"S": owner}, "sk": {"S": hook_sk(hook_id)}},
            ConsistentRead=True,
        )
        if "Item" not in answer:
            raise NotFound(f"hook {hook_id}")
        hook = _from_item(answer["Item"])
        if "previous_secret_key" in answer["Item"] and hook.previous_secret_key is None:
            self._forget_previous_secret(answer["Item"], hook)  # its overlap is over: gone from storage too
        return hook

    def get_many(self, owner: str, hook_ids: Iterable[int]) -> dict[int, Hook]:
        """The owner's hooks among these ids (missing ones left out), 100 per BatchGetItem: a page of deliveries
        nests its hooks with one call or a few, whatever its length."""
        keys = [{"owner": {"S": owner}, "sk": {"S": hook_sk(i)}} for i in sorted(set(hook_ids))]
        hooks = (_from_item(item) for item in batch_get(self.client, self.table, keys))
        return {hook.id: hook for hook in hooks}

    def add(self, hook: Hook) -> None:
        self._transact(
            [
                {"Put": {**self._put_hook(hook), "ConditionExpression": "attribute_not_exists(sk)"}},
                {"Put": self._put_unique(hook)},
            ],
            _key_of(hook),
        )

    def replace(self, old: Hook, new: Hook) -> None:
        """Write `new` over `old`, moving the uniqueness item when event_type or target_url changed."""
        writes: list[dict[str, Any]] = [{"Put": {**self._put_hook(new), "ConditionExpression": "attribute_exists(sk)"}}]
        old_unique = unique_sk(old.event_type, old.target_url)
        if unique_sk(new.event_type, new.target_url) != old_unique:
            writes.append({"Delete": self._key(old.owner, old_unique)})
            writes.append({"Put": self._put_unique(new)})
        moved = (old.event_type, old.target_url) != (new.event_type, new.target_url)
        if new.is_active and (moved or not old.is_active):  # a fresh start for the circuit breaker
            writes.append(reset_update(self.table, old.event_type, old.id))
        self._transact(writes, _key_of(old), _key_of(new))

    def swap_secret(self, old: Hook, new: Hook) -> None:
        """Write `new` (same type and URL, new secrets or keys) only if the secret and the signing key are still the
        ones `old` read; NotFound if not, or if the hook went away."""
        put = self._put_hook(new)
        conditions, values = ["attribute_exists(sk)"], {}
        for name in ("secret_key", "signing_key"):
            seen = getattr(old, name)
            if seen:
                conditions.append(f"{name} = :{name}")
                values[f":{name}"] = {"S": seen}
            else:
                conditions.append(f"attribute_not_exists({name})")
        put["ConditionExpression"] = " AND ".join(conditions)
        if values:
            put["ExpressionAttributeValues"] = values
        self._transact([{"Put": put}], _key_of(new))

    def _forget_previous_secret(self, item: dict[str, Any], hook: Hook) -> None:
        """Best effort, on a read: a failure here leaves it for the next read or write (it never signs anyway)."""
        update: dict[str, Any] = {
            **self._key(hook.owner, hook_sk(hook.id)),
            "UpdateExpression": "REMOVE previous_secret_key, previous_secret_expires_at",
            "ConditionExpression": "previous_secret_expires_at = :seen",
            "ExpressionAttributeValues": {":seen": item["previous_secret_expires_at"]},
        }
        if "dispatch" in item:
            update["UpdateExpression"] += " SET dispatch = :card"
            update["ExpressionAttributeValues"][":card"] = {"S": _dispatch_card(hook)}
        with contextlib.suppress(NotFound, ClientError):
            self._transact([{"Update": update}], _key_of(hook))

    def delete(self, hook: Hook) -> None:
        """Removes a hook for good, with its uniqueness item. No API call does this (DELETE deactivates, as
        whisperer's does); it is for an operator's tooling and tests."""
        self._transact(
            [
                {
                    "Delete": {
                        **self._key(hook.owner, hook_sk(hook.id)),
                        "ConditionExpression": "attribute_exists(sk)",
                    }
                },
                {"Delete": self._key(hook.owner, unique_sk(hook.event_type, hook.target_url))},
            ],
            _key_of(hook),
        )

    def deactivate(self, hook: HookTarget, reason: str | None = None) -> datetime | None:
        """Stop sending the hook anything until its owner turns it back on: its owner deleted it (whisperer's DELETE
        is this), or its subscriber answered 410 Gone. The hook stays, readable, with its delivery log.
        With a reason (the service turned it off: 410 Gone, failing too long), its answers show it and when, and
        only an active hook is turned off. Returns when, to the one write that did it (operational_events.py says so
        once), else None."""
        turned_off = now()
        moment = turned_off.isoformat()
        update: dict[str, Any] = {
            **self._key(hook.owner, hook_sk(hook.id)),
            "UpdateExpression": "SET is_active = :false, modified_date = :now REMOVE active_event_type, dispatch",
            "ConditionExpression": "attribute_exists(sk)",
            "ExpressionAttributeValues": {":false": {"BOOL": False}, ":now": {"S": moment}},
        }
        if reason is not None:
            update["UpdateExpression"] = (
                "SET is_active = :false, modified_date = :now, disabled_at = :now, disabled_reason = :why "
                "REMOVE active_event_type, dispatch"
            )
            update["ExpressionAttributeValues"][":why"] = {"S": reason}
            update["ConditionExpression"] = "attribute_exists(sk) AND is_active = :true"
            update["ExpressionAttributeValues"][":true"] = {"BOOL": True}
        try:
            self._transact([{"Update": update}], _key_of(hook))
        except NotFound:  # deleted meanwhile, or (with a reason) already off: nothing to turn off
            return None
        return turned_off

    def active_version(self, key: str) -> int:
        """Changes whenever an active hook of this dispatch key may have changed: a cached list is good till then."""
        answer = self.client.get_item(
            TableName=self.table,
            Key={"owner": {"S": _VERSION_OWNER}, "sk": {"S": key}},
            ConsistentRead=True,
        )
        return int(answer.get("Item", {}).get("v", {}).get("N", "0"))

    def active_version_and_circuits(self, key: str) -> tuple[int, dict[str, Any] | None]:
        """The version and the type's circuits item (circuit_store.py) in one consistent BatchGetItem, so the
        circuit breaker costs a dispatch no call of its own."""
        version_key = {"owner": {"S": _VERSION_OWNER}, "sk": {"S": key}}
        version, circuits = 0, None
        keys = [version_key, circuits_key(event_type_of(key))]
        for item in batch_get(self.client, self.table, keys, ConsistentRead=True):
            if item["owner"]["S"] == _VERSION_OWNER:
                version = int(item.get("v", {}).get("N", "0"))
            else:
                circuits = item
        return version, circuits

    def query_owner(
        self,
        owner: str,
        filters: dict[str, Any],
        limit: int,
        after: str | None,
        matches: Callable[[Hook], bool] | None = None,
    ) -> tuple[list[Hook], str | None]:
        """One page of an owner's hooks in id order, and the sort key to continue after (None at the end).

        `filters` are equalities DynamoDB checks; `matches` a test it cannot make (ignoring case), made here."""
        names: dict[str, str] = {"#o": "owner", "#sk": "sk"}
        values: dict[str, Any] = {":o": {"S": owner}, ":p": {"S": _HOOK_PREFIX}}
        conditions = []
        for name, value in filters.items():
            names[f"#{name}"] = name
            values[f":{name}"] = {"BOOL": value} if isinstance(value, bool) else {"S": value}
            conditions.append(f"#{name} = :{name}")
        request: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "#o = :o AND begins_with(#sk, :p)",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "Limit": limit + 1 if not conditions and matches is None else max(limit * 2, 100),
        }
        if conditions:
            request["FilterExpression"] = " AND ".join(conditions)
        hooks: list[Hook] = []
        start = {"owner": {"S": owner}, "sk": {"S": after}} if after else None
        while True:
            if start:
                request["ExclusiveStartKey"] = start
            answer = self.client.query(**request)
            found = (_from_item(item) for item in answer.get("Items", []))
            hooks.extend(hook for hook in found if matches is None or matches(hook))
            start = answer.get("LastEvaluatedKey")
            if len(hooks) > limit:
                return hooks[:limit], hook_sk(hooks[limit - 1].id)
            if not start:
                return hooks, None

    def active_hooks(self, key: str) -> Iterator[list[HookTarget]]:
        """Every active hook of a dispatch key, a page (a Query call) at a time, from the sparse index."""
        paginator = self.client.get_paginator("query")
        pages = paginator.paginate(
            TableName=self.table,
            IndexName=ACTIVE_INDEX,
            KeyConditionExpression="active_event_type = :t",
            ExpressionAttributeValues={":t": {"S": key}},
        )
        event_type = event_type_of(key)
        for page in pages:
            yield [_from_dispatch_card(event_type, item["dispatch"]["S"]) for item in page.get("Items", [])]

    def active_range(self, event_type: str, first_id: int, last_id: int) -> Iterator[list[HookTarget]]:
        """The active hooks of a type with ids in [first_id, last_id]: one batch of a split fan-out."""
        paginator = self.client.get_paginator("query")
        pages = paginator.paginate(
            TableName=self.table,
            IndexName=ACTIVE_INDEX,
            KeyConditionExpression="active_event_type = :t AND sk BETWEEN :first AND :last",
            ExpressionAttributeValues={
                ":t": {"S": event_type},
                ":first": {"S": hook_sk(first_id)},
                ":last": {"S": hook_sk(last_id)},
            },
        )
        for page in pages:
            yield [_from_dispatch_card(event_type, item["dispatch"]["S"]) for item in page.get("Items", [])]

    def _transact(self, writes: list[dict[str, Any]], *keys: str) -> None:
        """Writes hook items and bumps their dispatch keys' versions, all or nothing."""
        bumps = [
            {
                "Update": {
                    **self._key(_VERSION_OWNER, key),
                    "UpdateExpression": "ADD v :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}},
                }
            }
            for key in dict.fromkeys(keys)
        ]
        try:
            self.client.transact_write_items(TransactItems=writes + bumps)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            if reasons and reasons[0] == "ConditionalCheckFailed":
                raise NotFound("hook") from None  # the hook itself went away meanwhile
            if "ConditionalCheckFailed" in reasons:
                raise DuplicateHook() from None  # only the uniqueness item has a condition
            raise

    def _key(self, owner: str, sk: str) -> dict[str, Any]:
        return {"TableName": self.table, "Key": {"owner": {"S": owner}, "sk": {"S": sk}}}

    def _put_unique(self, hook: Hook) -> dict[str, Any]:
        return {
            "TableName": self.table,
            "Item": {
                "owner": {"S": hook.owner},
                "sk": {"S": unique_sk(hook.event_type, hook.target_url)},
                "hook_id": {"N": str(hook.id)},
            },
            "ConditionExpression": "attribute_not_exists(sk)",
        }

    def _put_hook(self, hook: Hook) -> dict[str, Any]:
        return {"TableName": self.table, "Item": _to_item(hook)}


def _to_item(hook: Hook) -> dict[str, Any]:
    """The hook's fields (items.py), its sort key, and while it is active its place in the dispatcher's index."""
    item = {**to_item(hook), "sk": {"S": hook_sk(hook.id)}}
    if hook.is_active:
        item["active_event_type"] = {"S": _key_of(hook)}
        item["dispatch"] = {"S": _dispatch_card(hook)}
    return item


def _from_item(item: dict[str, Any]) -> Hook:
    hook = from_item(Hook, item)
    key_expires = hook.previous_signing_key_expires_at
    if hook.previous_signing_key and (key_expires is None or key_expires <= now()):  # its overlap is over
        hook = hook.model_copy(update={"previous_signing_key": None, "previous_signing_key_expires_at": None})
    expires = hook.previous_secret_expires_at
    if (expires is not None and expires > now()) or (expires is None and hook.previous_secret_key is None):
        return hook
    # A rotation's overlap is over: its old secret is dropped, and so not written back.
    return hook.model_copy(update={"previous_secret_key": None, "previous_secret_expires_at": None})


# The dispatch card: a HookTarget's fields (less event_type, the index's key) as compact JSON, the one attribute the
# ActiveByEventType index projects. Cards already in the index keep the keys and forms they were written with, so
# the fields they hold keep theirs (`_dispatch_card`): `cfg` is the countdown's JSON text, parsed once per process per
# distinct config, `pexp` epoch seconds. A field added to HookTarget rides the card under its own name, as JSON, left
# out when it is the field's default (None, or `"symmetric"`: the cards of hooks without the option stay as they were).
_FIRST_CARD_FIELDS = frozenset(
    {
        "id",
        "owner",
        "event_type",
        "target_url",
        "retry_countdown_config",
        "additional_headers",
        "secret_key",
        "rate_limit",
        "config",
        "previous_secret_key",
        "previous_secret_expires_at",
    }
)


@cache
def _added_card_fields(target: type[HookTarget]) -> dict[str, TypeAdapter[Any]]:
    """The fields beyond the card's first ones (none yet), each with what reads its JSON back."""
    added = (name for name in target.model_fields if name not in _FIRST_CARD_FIELDS)
    return {name: TypeAdapter(target.model_fields[name].rebuild_annotation()) for name in added}


@cache
def _card_defaults(target: type[HookTarget]) -> dict[str, Any]:
    fields = target.model_fields
    return {name: fields[name].get_default(call_default_factory=True) for name in _added_card_fields(target)}


def _dispatch_card(hook: HookTarget, target: type[HookTarget] = HookTarget) -> str:
    """The card of `hook` (a Hook too: only its `target` fields go on the card)."""
    card = {
        "id": hook.id,
        "owner": hook.owner,
        "url": hook.target_url,
        "cfg": hook.retry_countdown_config.model_dump_json(),
        "hdr": hook.additional_headers,
        "sec": hook.secret_key,
    }
    if hook.rate_limit is not None:  # only then: the cards of hooks without a limit stay as they were
        card["rl"] = hook.rate_limit
    config = hook.config.model_dump()
    if config:  # the whole config, so that what a delivery reads of it (auth) is here on every path
        card["conf"] = config
    if hook.previous_secret_key and hook.previous_secret_expires_at:  # only while a rotation's overlap lasts
        card["psec"] = hook.previous_secret_key
        card["pexp"] = hook.previous_secret_expires_at.timestamp()
    for name, default in _card_defaults(target).items():
        value = getattr(hook, name)
        if value != default:
            card[name] = to_jsonable_python(value)
    return json.dumps(card, separators=(",", ":"), ensure_ascii=False)


@lru_cache(maxsize=1024)
def _countdown(config_json: str) -> RetryCountdownConfig:
    """Most hooks share a handful of configs: parse each once per process."""
    return _COUNTDOWN.validate_json(config_json)


_NO_CONFIG = HookConfig()  # frozen: one shared by every hook without a config


def _card_config(stored: dict[str, Any] | None) -> HookConfig:
    """As the other card fields, not validated again: a fault in it is one delivery's failed attempt, not the
    fan-out's (see attempt.py)."""
    if not stored:
        return _NO_CONFIG
    auth = stored.get("auth")
    extra = {name: value for name, value in stored.items() if name != "auth"}
    if isinstance(auth, dict):
        auth = BasicAuth.model_construct(**auth)
    return HookConfig.model_construct(auth=auth or None, **extra)


def _from_dispatch_card(event_type: str, raw: str, target: type[HookTarget] = HookTarget) -> HookTarget:
    card = json.loads(raw)
    # Built without re-validation: every field was validated when the hook was written.
    hook = target.model_construct(
        id=card["id"],
        owner=card["owner"],
        event_type=event_type,
        target_url=card["url"],
        retry_countdown_config=_countdown(card["cfg"]),
        additional_headers=card["hdr"],
        secret_key=card["sec"],
        rate_limit=card.get("rl"),
        config=_card_config(card.get("conf")),
        previous_secret_key=card.get("psec"),
        previous_secret_expires_at=datetime.fromtimestamp(card["pexp"], UTC) if "pexp" in card else None,
    )
    for name, adapter in _added_card_fields(target).items():
        if name in card:
            setattr(hook, name, adapter.validate_python(card[name]))
    return hook
