"""DynamoDB access for the circuit breaker: one item per event type holding the streak of every failing hook.

Key: `owner` = `#circuits`, `sk` = the event type, in the hooks table. A hook with a streak has up to four
top-level numbers named after its id: `f<id>` consecutive failed attempts, `s<id>` the streak's start,
`o<id>` the next probe time while its circuit is open, `k<id>` failed probes, `p<id>` the token of the one probe
message on the retry queue that probes it while it is open (parking.py). Healthy hooks have none.

One item per type, because the dispatcher already reads its type's version item once per event: both come in
the same BatchGetItem, so healthy hooks cost no call at all. Counts are changed with ADD and `if_not_exists`,
atomic under concurrent invocations; a flush of 25 records changes its failing hooks in one UpdateItem.
An item holds at most 400 KB: about 7,000 failing hooks of one event type (about 55 bytes each).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from oms_webhooks.adapters.aws import DynamoDBTable
from oms_webhooks.domain.circuit import Health

CIRCUITS_OWNER = "#circuits"  # owner names never start with '#'
_FIELDS = ("f", "s", "o", "k", "p")
HOOKS_PER_UPDATE = 25  # keeps each update expression well under DynamoDB's 4 KB


@dataclass
class Changes:
    """What a batch of attempts did to the hooks' streaks, written in one go."""

    failed: dict[int, int]  # hook id → failed attempts to add to its streak
    failed_probes: dict[int, float]  # hook id → its next probe time (the probe failed)

    def __bool__(self) -> bool:
        return bool(self.failed or self.failed_probes)


def circuits_key(event_type: str) -> dict[str, Any]:
    return {"owner": {"S": CIRCUITS_OWNER}, "sk": {"S": event_type}}


def health_of(item: Mapping[str, Any] | None) -> dict[int, Health]:
    """Every hook with a streak in a circuits item (an absent item: none)."""
    values: dict[int, dict[str, float]] = {}
    for name, value in (item or {}).items():
        field, digits = name[:1], name[1:]
        if field in _FIELDS and digits.isdecimal() and "N" in value:
            values.setdefault(int(digits), {})[field] = float(value["N"])
    return {hook_id: _health(fields) for hook_id, fields in values.items()}


def reset_update(table: str, event_type: str, hook_id: int) -> dict[str, Any]:
    """A TransactWriteItems `Update` that forgets a hook's streak (re-enabled, or pointed somewhere else)."""
    names = {f"#{field}": f"{field}{hook_id}" for field in _FIELDS}
    return {
        "Update": {
            "TableName": table,
            "Key": circuits_key(event_type),
            "UpdateExpression": "REMOVE " + ", ".join(names),
            "ExpressionAttributeNames": names,
        }
    }


class CircuitStore(DynamoDBTable):
    def read(self, event_type: str) -> dict[int, Health]:
        answer = self.client.get_item(TableName=self.table, Key=circuits_key(event_type), ConsistentRead=True)
        return health_of(answer.get("Item"))

    def read_hook(self, event_type: str, hook_id: int) -> Health:
        """One hook's streak (the retrier's view); DynamoDB bills the whole item's size all the same."""
        names = {f"#{field}": f"{field}{hook_id}" for field in _FIELDS}
        answer = self.client.get_item(
            TableName=self.table,
            Key=circuits_key(event_type),
            ConsistentRead=True,
            ProjectionExpression=", ".join(names),
            ExpressionAttributeNames=names,
        )
        return health_of(answer.get("Item")).get(hook_id, Health())

    def record(
        self, event_type: str, changes: Changes, now: float, starts_known: Iterable[int] = ()
    ) -> dict[int, Health]:
        """Applies `changes`; returns the new streak of each hook that failed (failures and start, and the
        probe fields where a probe failed). The start of a streak in `starts_known` (the caller read it) may be left
        out: a write whose failing hooks all have one asks back for what it changed alone, not the whole item."""
        hooks = sorted({*changes.failed, *changes.failed_probes})
        known = set(starts_known)
        found: dict[int, Health] = {}
        for start in range(0, len(hooks), HOOKS_PER_UPDATE):
            chunk = set(hooks[start : start + HOOKS_PER_UPDATE])
            whole = any(hook_id not in known for hook_id in chunk & set(changes.failed))
            found.update(self._record(event_type, changes, chunk, now, whole))
        return found

    def _record(self, event_type: str, changes: Changes, hooks: set[int], now: float, whole: bool) -> dict[int, Health]:
        sets: list[str] = []
        adds: list[str] = []
        names: dict[str, str] = {}
        values: dict[str, Any] = {":now": {"N": repr(now)}, ":one": {"N": "1"}}
        for hook_id in sorted(hooks):
            f, s, o, k = (f"#{field}{hook_id}" for field in "fsok")
            if hook_id in changes.failed:
                names.update({f: f"f{hook_id}", s: f"s{hook_id}"})
                values[f":f{hook_id}"] = {"N": str(changes.failed[hook_id])}
                adds.append(f"{f} :f{hook_id}")
                sets.append(f"{s} = if_not_exists({s}, :now)")
            if hook_id in changes.failed_probes:
                names.update({o: f"o{hook_id}", k: f"k{hook_id}"})
                values[f":o{hook_id}"] = {"N": repr(changes.failed_probes[hook_id])}
                sets.append(f"{o} = :o{hook_id}")
                adds.append(f"{k} :one")
        clauses = []
        if sets:
            clauses.append("SET " + ", ".join(sets))
        if adds:
            clauses.append("ADD " + ", ".join(adds))
        if not clauses:
            return {}
        used = {name for name in values if any(name in clause for clause in clauses)}
        request: dict[str, Any] = {
            "TableName": self.table,
            "Key": circuits_key(event_type),
            "UpdateExpression": " ".join(clauses),
            "ExpressionAttributeNames": names,
            # The whole item where a failing hook's streak may have begun since the caller read it: a start that
            # `if_not_exists` kept unchanged may be left out of UPDATED_NEW (moto does), and concurrent first failures
            # then never saw their start. Otherwise only what changed: the whole item holds every failing hook of
            # the type (in moto, serializing it took a fifth of a retry burst's CPU).
            "ReturnValues": "ALL_NEW" if whole else "UPDATED_NEW",
        }
        if used:
            request["ExpressionAttributeValues"] = {name: values[name] for name in used}
        answer = self.client.update_item(**request)
        found = health_of(answer.get("Attributes"))
        return {hook_id: health for hook_id, health in found.items() if hook_id in hooks}

    def open(self, event_type: str, probes: Mapping[int, float], tokens: Mapping[int, int]) -> set[int]:
        """Opens these hooks' circuits with their first probe time and probe message token; a circuit already open
        keeps its own. Returns the hooks this call opened (their probe messages are the caller's to send)."""
        opened: set[int] = set()
        for chunk in _chunks(sorted(probes), HOOKS_PER_UPDATE):
            names: dict[str, str] = {}
            values: dict[str, Any] = {":zero": {"N": "0"}}
            sets = []
            for hook_id in chunk:
                names.update(
                    {f"#o{hook_id}": f"o{hook_id}", f"#k{hook_id}": f"k{hook_id}", f"#p{hook_id}": f"p{hook_id}"}
                )
                values[f":o{hook_id}"] = {"N": repr(probes[hook_id])}
                values[f":p{hook_id}"] = {"N": str(tokens[hook_id])}
                sets.append(f"#o{hook_id} = if_not_exists(#o{hook_id}, :o{hook_id})")
                sets.append(f"#k{hook_id} = if_not_exists(#k{hook_id}, :zero)")
                sets.append(f"#p{hook_id} = if_not_exists(#p{hook_id}, :p{hook_id})")
            answer = self.client.update_item(
                TableName=self.table,
                Key=circuits_key(event_type),
                UpdateExpression="SET " + ", ".join(sets),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                # The probe message token after the write: this call's own where it opened the circuit, another's (or
                # left out: unchanged) where another run opened it first. Exact whether or not DynamoDB returns what
                # `if_not_exists` kept (moto does not), where a probe time before the write would not be.
                ReturnValues="UPDATED_NEW",
            )
            now_open = health_of(answer.get("Attributes"))
            opened.update(h for h in chunk if now_open.get(h, Health()).probe_message == tokens[h])
        return opened

    def claim_probe_message(self, event_type: str, hook_id: int, token: int) -> bool:
        """An open circuit without a probe message (opened before probe messages existed, or its message was lost):
        the one caller that sets the token sends the message."""
        try:
            self.client.update_item(
                TableName=self.table,
                Key=circuits_key(event_type),
                UpdateExpression="SET #p = :token",
                ConditionExpression="attribute_exists(#o) AND attribute_not_exists(#p)",
                ExpressionAttributeNames={"#p": f"p{hook_id}", "#o": f"o{hook_id}"},
                ExpressionAttributeValues={":token": {"N": str(token)}},
            )
            return True
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise

    def take_probe(self, event_type: str, hook_id: int, seen_probe_at: float, until: float) -> bool:
        """Half-open: the one delivery that moves the probe time from what it read to `until` probes; the others
        (a concurrent invocation read the same time) lose the condition and wait."""
        try:
            self.client.update_item(
                TableName=self.table,
                Key=circuits_key(event_type),
                UpdateExpression="SET #o = :until",
                ConditionExpression="#o = :seen",
                ExpressionAttributeNames={"#o": f"o{hook_id}"},
                ExpressionAttributeValues={":until": {"N": repr(until)}, ":seen": {"N": repr(seen_probe_at)}},
            )
            return True
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise

    def clear(self, event_type: str, hook_ids: Iterable[int]) -> dict[int, Health]:
        """Forgets these hooks' streaks and circuits; returns those whose circuit was open until this call closed it,
        each with the streak it removed (whatever the caller read: another run may have opened it meanwhile)."""
        closed: dict[int, Health] = {}
        for chunk in _chunks(sorted(set(hook_ids)), HOOKS_PER_UPDATE):
            names = {f"#{field}{hook_id}": f"{field}{hook_id}" for hook_id in chunk for field in _FIELDS}
            answer = self.client.update_item(
                TableName=self.table,
                Key=circuits_key(event_type),
                UpdateExpression="REMOVE " + ", ".join(names),
                ExpressionAttributeNames=names,
                ReturnValues="UPDATED_OLD",  # what the call removed: a probe time there means it closed that circuit
            )
            was = health_of(answer.get("Attributes"))
            closed.update({hook_id: health for hook_id, health in was.items() if hook_id in chunk and health.is_open})
        return closed


def _health(fields: dict[str, float]) -> Health:
    return Health(
        failures=int(fields.get("f", 0)),
        since=fields.get("s"),
        probe_at=fields.get("o"),
        probes=int(fields.get("k", 0)),
        probe_message=int(fields["p"]) if "p" in fields else None,
    )


def _chunks(items: list[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
