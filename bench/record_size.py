"""What a delivery costs DynamoDB, measured: every write the service makes is metered as DynamoDB bills it.

The real dispatcher delivers each sample event (`events/eventbridge/`) to 20 hooks with secrets and a header of their
own, against moto in its own process and a receiver here; then the real retrier retries ten deliveries whose first
attempt failed. A `CapacityMeter` on the service's own DynamoDB client sees each write, reads the item before and
after it (with a client of its own), and prices it by DynamoDB's rules: a write request unit per started KB of the
larger image in the table, and in each global secondary index (read from template.yaml) one write per started KB of
the index entry (its keys and projected attributes, plus 100 bytes) put, updated or deleted; none where the entry
does not change. Reads: a read unit per started 4 KB of each item read (half when eventually consistent). Stored
bytes: each item and each index entry plus DynamoDB's 100 bytes of overhead.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import boto3

from bench import services
from bench.fanout import SECRET, breaker, make_stack, use_endpoint
from oms_webhooks.adapters.address_guard import AddressPolicy
from oms_webhooks.adapters.aws import dynamodb
from oms_webhooks.adapters.hook_store import _to_item
from oms_webhooks.adapters.queues import RetryMessage
from oms_webhooks.adapters.sender import Sender
from oms_webhooks.clock import SimulatedClock, clock, use_clock
from oms_webhooks.domain.deliveries import delivery_id
from oms_webhooks.domain.hooks import Hook, now
from oms_webhooks.domain.oms_event import OmsEvent
from oms_webhooks.rules.dispatch import Dispatcher
from oms_webhooks.rules.retrier import Received, Retrier
from oms_webhooks_cli.template import Template

EVENTS = Path(__file__).resolve().parents[1] / "events" / "eventbridge"
INDEX_ENTRY_OVERHEAD = 100  # bytes DynamoDB adds to every index entry (and to every item, for storage)
HOOKS_PER_EVENT = 20
RETRIES = 10  # one retrier batch, as the event source mapping hands it over
PAGE = 50  # deliveries on a page of the delivery log
FAILURE_BODY = b'{"error": "upstream unavailable", "request_id": "7f3c2a9e"}'  # a first attempt's typical refusal


def item_size(item: dict[str, Any]) -> int:
    """An item's size by DynamoDB's rules: names, UTF-8 strings, raw binary, numbers by their significant digits."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _value_size(typed: dict[str, Any]) -> int:
    [(kind, value)] = typed.items()
    if kind == "S":
        return len(value.encode())
    if kind == "B":
        return len(value)
    if kind == "N":
        digits = value.lstrip("-").replace(".", "").strip("0") or "0"
        return math.ceil(len(digits) / 2) + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "L":
        return 3 + sum(1 + _value_size(v) for v in value)
    if kind == "M":
        return 3 + sum(len(k.encode()) + 1 + _value_size(v) for k, v in value.items())
    raise ValueError(f"no size rule here for {kind}")


@dataclass(frozen=True)
class Index:
    name: str
    keys: frozenset[str]  # its own keys and the table's
    projected: frozenset[str] | None  # None: every attribute

    def entry(self, item: dict[str, Any] | None) -> dict[str, Any] | None:
        if item is None or not self.keys <= set(item):
            return None  # sparse: an item without the index's keys has no entry
        if self.projected is None:
            return item
        return {k: v for k, v in item.items() if k in self.keys | self.projected}


def indexes(template: Template, table_resource: str = "DeliveriesTable") -> tuple[frozenset[str], list[Index]]:
    """A table's key and its global secondary indexes, as `template` creates them (its conditions decided by its
    parameters: an index under `Fn::If` is there or not)."""

    table = template.tables()[table_resource]
    base = frozenset(key["AttributeName"] for key in table["KeySchema"])
    found = []
    for index in table.get("GlobalSecondaryIndexes", []):
        keys = base | {key["AttributeName"] for key in index["KeySchema"]}
        projection = index["Projection"]
        projected = None if projection["ProjectionType"] == "ALL" else frozenset(projection.get("NonKeyAttributes", []))
        found.append(Index(index["IndexName"], keys, projected))
    return base, found


def write_units(before: dict[str, Any] | None, after: dict[str, Any] | None, places: list[Index]) -> Counter[str]:
    """DynamoDB's write request units for one item going from `before` to `after` (None: absent), by place."""
    units: Counter[str] = Counter()
    units["table"] = math.ceil(max(item_size(before or {}), item_size(after or {}), 1) / 1024)
    for index in places:
        old, new = index.entry(before), index.entry(after)
        if old == new:
            continue
        old_units = math.ceil((item_size(old) + INDEX_ENTRY_OVERHEAD) / 1024) if old else 0
        new_units = math.ceil((item_size(new) + INDEX_ENTRY_OVERHEAD) / 1024) if new else 0
        if old and new and all(old[k] == new[k] for k in index.keys):
            units[index.name] += max(old_units, new_units)  # the projected attributes changed, in place
        else:
            units[index.name] += old_units + new_units  # put, delete, or a key changed: delete and put
    return units


def stored_bytes(item: dict[str, Any], places: list[Index]) -> Counter[str]:
    """What an item takes at rest, with DynamoDB's per-item overhead, in the table and in each index."""
    stored: Counter[str] = Counter({"table": item_size(item) + INDEX_ENTRY_OVERHEAD})
    for index in places:
        entry = index.entry(item)
        if entry is not None:
            stored[index.name] = item_size(entry) + INDEX_ENTRY_OVERHEAD
    return stored


@dataclass(frozen=True)
class Table:
    """A table as the meter prices it: its key, its indexes, and the name its writes are reported under."""

    label: str
    key: frozenset[str]
    places: list[Index]


def tables(template: Template) -> dict[str, Table]:
    """Physical name -> Table, for every table of the stack: the deliveries table's writes are reported as `table`
    and its index names, another table's under its logical id."""
    found = {}
    for lid in template.of_type("AWS::DynamoDB::Table"):
        key, places = indexes(template, lid)
        label = "table" if lid == "DeliveriesTable" else lid
        if lid != "DeliveriesTable":
            places = [Index(f"{lid}.{index.name}", index.keys, index.projected) for index in places]
        found[template.physical_name(lid)] = Table(label, key, places)
    return found


ItemKey = tuple[str, tuple[Any, ...]]  # a table's physical name, and the item's key in `_key_of`'s form
_Pending = tuple[str | None, dict[str, Any], list[ItemKey], dict[ItemKey, dict[str, Any]]]


@dataclass
class CapacityMeter:
    """Meters every write and read one DynamoDB client makes on the stack's tables, from the items' images before
    and after each write. The images are read with a client of its own, so nothing it reads is metered."""

    client: Any
    tables: dict[str, Table]
    endpoint: str
    writes: Counter[str] = field(default_factory=Counter)  # write request units by place
    kinds: Counter[str] = field(default_factory=Counter)  # write request units by kind of item (`_kind`)
    reads: float = 0.0  # read request units
    calls: Counter[str] = field(default_factory=Counter)
    failed_conditions: int = 0
    paused: bool = False  # sees nothing while set (a timed run)

    def __post_init__(self) -> None:
        self.raw = boto3.client("dynamodb", endpoint_url=self.endpoint)
        self._pending = threading.local()
        self._lock = threading.Lock()
        events = self.client.meta.events
        events.register("before-parameter-build.dynamodb", self._before)
        events.register("after-call.dynamodb", self._after)

    def close(self) -> None:
        events = self.client.meta.events
        events.unregister("before-parameter-build.dynamodb", self._before)
        events.unregister("after-call.dynamodb", self._after)

    def reset(self) -> None:
        with self._lock:
            self.writes.clear()
            self.kinds.clear()
            self.calls.clear()
            self.reads = 0.0
            self.failed_conditions = 0

    def _before(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if self.paused:
            return
        keys = self._written_keys(model.name, params)
        self._pending.call = (model.name, params, keys, self._images(keys))

    def _after(self, parsed: dict[str, Any], model: Any, http_response: Any, **_: Any) -> None:
        pending: _Pending = getattr(self._pending, "call", None) or (None, {}, [], {})
        name, params, keys, before = pending
        self._pending.call = None
        if name != model.name:
            return
        with self._lock:
            self.calls[model.name] += 1
        if http_response.status_code >= 300:
            if parsed.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                table, key = keys[0]
                refused = math.ceil(max(item_size(before.get((table, key)) or {}), 1) / 1024)
                with self._lock:  # a refused conditional write is billed as a write of the item's size
                    self.failed_conditions += 1
                    self.writes[self.tables[table].label] += refused
                    self.kinds[self._kind(table, key)] += refused
            return
        if keys:
            unprocessed = {
                (table, _key_of(_item_key(request, self.tables[table].key)))
                for table, requests in parsed.get("UnprocessedItems", {}).items()
                for request in requests
            }
            done = [k for k in keys if k not in unprocessed]
            after = self._images(done)
            units: Counter[str] = Counter()
            kinds: Counter[str] = Counter()
            for table, key in done:
                places = self.tables[table]
                found = write_units(before.get((table, key)), after.get((table, key)), places.places)
                units += Counter({places.label if p == "table" else p: u for p, u in found.items()})
                kinds[self._kind(table, key)] += sum(found.values())
            with self._lock:
                self.writes += units
                self.kinds += kinds
        else:
            read = sum(_read_units(model.name, params, parsed, table) for table in self.tables)
            with self._lock:
                self.reads += read

    def _kind(self, table: str, key: tuple[Any, ...]) -> str:
        """`record` (a delivery), `event` (an event's claim), `claim` (an attempt's), or another table's label."""
        label = self.tables[table].label
        if label != "table":
            return label
        value = str(_key_dict(key).get("uuid", {}).get("S", ""))
        return "event" if value.startswith("EVENT#") else "claim" if value.startswith("CLAIM#") else "record"

    def _written_keys(self, name: str, params: dict[str, Any]) -> list[ItemKey]:
        if name in ("PutItem", "UpdateItem", "DeleteItem") and params.get("TableName") in self.tables:
            table = params["TableName"]
            key = params["Key"] if "Key" in params else {k: params["Item"][k] for k in self.tables[table].key}
            return [(table, _key_of(key))]
        if name == "BatchWriteItem":
            return [
                (table, _key_of(_item_key(request, self.tables[table].key)))
                for table, requests in params["RequestItems"].items()
                if table in self.tables
                for request in requests
            ]
        return []

    def images(self, table: str, keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The items at these keys now, as stored (read consistently, not metered)."""
        found = self._images([(table, _key_of(k)) for k in keys])
        return [found[(table, _key_of(k))] for k in keys if (table, _key_of(k)) in found]

    def _images(self, keys: list[ItemKey]) -> dict[ItemKey, dict[str, Any]]:
        found: dict[ItemKey, dict[str, Any]] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), 100):
            request: dict[str, Any] = {}
            for table, key in unique[start : start + 100]:
                request.setdefault(table, {"Keys": [], "ConsistentRead": True})["Keys"].append(_key_dict(key))
            answer = self.raw.batch_get_item(RequestItems=request)
            for table, items in answer["Responses"].items():
                for item in items:
                    found[(table, _key_of({k: item[k] for k in self.tables[table].key}))] = item
        return found


def _key_dict(key: tuple[Any, ...]) -> dict[str, Any]:
    return {name: json.loads(value) for name, value in key}


def _item_key(request: dict[str, Any], key: frozenset[str]) -> dict[str, Any]:
    if "PutRequest" in request:
        return {k: request["PutRequest"]["Item"][k] for k in key}
    return dict(request["DeleteRequest"]["Key"])


def _key_of(key: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(sorted((k, json.dumps(v, sort_keys=True)) for k, v in key.items()))


def _read_units(name: str, params: dict[str, Any], parsed: dict[str, Any], table: str) -> float:
    """Read units of a read: per key asked for by a get (4 KB of the item each, the minimum for an item not found;
    half when eventually consistent); for a Query, the items it returned, in 4 KB steps (a lower bound: what a
    filter dropped was read too)."""
    if name == "GetItem" and params.get("TableName") == table:
        return _units(item_size(parsed.get("Item", {})), params.get("ConsistentRead", False))
    if name == "BatchGetItem" and table in params["RequestItems"]:
        asked = params["RequestItems"][table]
        found = parsed["Responses"].get(table, [])
        left = parsed.get("UnprocessedKeys", {}).get(table, {}).get("Keys", [])
        missing = len(asked["Keys"]) - len(found) - len(left)
        consistent = asked.get("ConsistentRead", False)
        return sum(_units(item_size(item), consistent) for item in found) + missing * _units(0, consistent)
    if name == "Query" and params.get("TableName") == table:
        size = sum(item_size(item) for item in parsed.get("Items", []))
        return max(1, math.ceil(size / 4096)) * (1.0 if params.get("ConsistentRead") else 0.5)
    return 0.0


def _units(size: int, consistent: bool) -> float:
    return max(1, math.ceil(size / 4096)) * (1.0 if consistent else 0.5)


class _Receiver(BaseHTTPRequestHandler):
    """Answers 200 `ok`, but a path's first N POSTs with a 500 and a short JSON body when it starts with /failN."""

    protocol_version = "HTTP/1.1"  # keep-alive, as subscribers answer
    failed: ClassVar[Counter[str]] = Counter()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        times = int(self.path[5]) if self.path.startswith("/fail") else 0
        fail = self.failed[self.path] < times
        self.failed[self.path] += 1
        body = FAILURE_BODY if fail else b"ok"
        self.send_response(500 if fail else 200)
        self.send_header("Content-Type", "application/json" if fail else "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    request_queue_size = 1024  # a fan-out connects all at once
    daemon_threads = True


@contextmanager
def _receiver() -> Iterator[int]:
    server = _Server(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def _sample_events() -> list[tuple[str, Any]]:
    events = [json.loads(path.read_text()) for path in sorted(EVENTS.glob("*.json"))]
    return [(event["detail-type"], event["detail"]["payload"]) for event in events]


def measure_record_sizes(endpoint: str | None = None) -> list[dict[str, Any]]:
    """One row per sample event: the write units, read units and stored bytes per delivery of a first attempt; the
    median row also holds a retry's (`retry`). Against the endpoint in use (`make bench` has set one), else a moto of
    its own."""
    endpoint = endpoint or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint is None:
        with services.moto() as port:
            return measure_record_sizes(f"http://127.0.0.1:{port}")

    use_endpoint(endpoint)
    with _receiver() as port:
        rows = [_first_attempts(endpoint, port, event_type, payload) for event_type, payload in _sample_events()]
        middle = median_row(rows)
        middle["retry"] = _retries(endpoint, port, middle["event_type"], _payload_of(middle["event_type"]))
        middle["page"] = _log_page(endpoint, port, middle["event_type"], _payload_of(middle["event_type"]))
    return rows


def _payload_of(event_type: str) -> Any:
    return dict(_sample_events())[event_type]


@contextmanager
def _metered_stack(endpoint: str, name: str) -> Iterator[tuple[Any, CapacityMeter]]:

    stack_name = f"{name}-{uuid.uuid4().hex[:6]}"
    stack = make_stack(endpoint, stack_name)
    meter = CapacityMeter(dynamodb(), tables(Template(stack_name=stack_name)), endpoint)
    try:
        yield stack, meter
    finally:
        meter.close()


def _seed(stack: Any, event_type: str, port: int, path: str, n: int, countdown: dict[str, Any] | None = None) -> Any:

    moment = now()
    hooks = [
        Hook.model_validate(
            {
                "id": 100_000_000_000 + i,
                "owner": f"shop-{i}",  # each hook its own owner: nothing shares an index partition
                "event_type": event_type,
                "target_url": f"http://127.0.0.1:{port}/{path}/{uuid.uuid4().hex[:8]}",
                "secret_key": SECRET,
                "additional_headers": {"X-Shop": f"shop-{i}"},
                "created_date": moment,
                "modified_date": moment,
                **({"retry_countdown_config": countdown} if countdown else {}),
            }
        )
        for i in range(n)
    ]
    for start in range(0, n, 25):
        dynamodb().batch_write_item(
            RequestItems={stack.hooks.table: [{"PutRequest": {"Item": _to_item(h)}} for h in hooks[start : start + 25]]}
        )
    return hooks


def _dispatcher(stack: Any) -> Any:

    return Dispatcher(
        stack.hooks, stack.deliveries, Sender(AddressPolicy(allow_loopback=True)), stack.retries, breaker=breaker(stack)
    )


def _first_attempts(endpoint: str, port: int, event_type: str, payload: Any) -> dict[str, Any]:
    """A warm dispatch of one event to 20 hooks (a first dispatch of the type warms the hooks' cache)."""

    with _metered_stack(endpoint, "cost") as (stack, meter):
        hooks = _seed(stack, event_type, port, "ok", HOOKS_PER_EVENT)
        dispatcher = _dispatcher(stack)
        dispatcher.dispatch(OmsEvent(str(uuid.uuid4()), event_type, payload))
        event_id = str(uuid.uuid4())
        meter.reset()
        report = dispatcher.dispatch(OmsEvent(event_id, event_type, payload))
        dispatcher.pool.shutdown()
        if report.delivered != HOOKS_PER_EVENT:
            raise RuntimeError(f"only {report.delivered} of {HOOKS_PER_EVENT} delivered: {report}")
        table = stack.deliveries.table
        records = meter.images(table, [{"uuid": {"S": delivery_id(event_id, h.id)}} for h in hooks])
        events = meter.images(table, [{"uuid": {"S": f"EVENT#{event_id}"}}])
        places = meter.tables[table].places
    stored = sum((stored_bytes(item, places) for item in records), Counter())
    event_stored = sum((stored_bytes(item, []) for item in events), Counter())
    n = HOOKS_PER_EVENT
    return {
        "event_type": event_type,
        "payload_bytes": len(json.dumps(payload, ensure_ascii=False).encode()),
        "record_bytes": statistics.median(item_size(item) for item in records),
        "write_units": sum(meter.writes.values()) / n,
        "units_by_place": {place: units / n for place, units in meter.writes.items()},
        "record_write_units": meter.kinds["record"] / n,  # per delivery
        "event_write_units": sum(meter.kinds.values()) - meter.kinds["record"],  # per event: its claim
        "event_read_units": meter.reads,  # per event: the hooks' version, the circuits
        "stored_bytes": (sum(stored.values()) + sum(event_stored.values())) / n,  # at 20 hooks per event
        "stored_by_place": {place: size / n for place, size in (stored + event_stored).items()},
        "record_stored_bytes": sum(stored.values()) / n,  # per delivery, with its index entries
        "record_table_bytes": stored["table"] / n,  # what point-in-time recovery is billed on
        "event_stored_bytes": sum(event_stored.values()),  # per event: its claim
        "dynamodb_calls": sum(meter.calls.values()),
        "operations": dict(meter.calls),
    }


def _retries(endpoint: str, port: int, event_type: str, payload: Any) -> dict[str, Any]:
    """Ten deliveries fail their first attempt (500); after their countdown the retrier takes them as one batch, as
    the handler does, and they succeed (`again`: those of a second batch fail again). Per retry: the batch's reads
    and writes, its SQS requests (the event source mapping's receive and delete, a call each per batch, and the
    retrier's own), and its seconds: the median of three batches of their own with the meter off (its reads of the
    items before and after each write take time)."""

    previous = use_clock(SimulatedClock())
    try:
        with _metered_stack(endpoint, "retry") as (stack, meter):
            meter.paused = True
            batches = [_retry_batch(stack, meter, port, event_type, payload) for _ in range(3)]
            timed = statistics.median(batch["seconds"] for batch in batches)
            meter.paused = False
            found = _retry_batch(stack, meter, port, event_type, payload)
            again = _retry_batch(stack, meter, port, event_type, payload, fails=2)
    finally:
        use_clock(previous)
    return {**found, "seconds": timed / RETRIES, "again": again}


def _retry_batch(
    stack: Any, meter: CapacityMeter, port: int, event_type: str, payload: Any, fails: int = 1
) -> dict[str, Any]:
    """A batch of retries of deliveries whose subscribers answer 500 `fails` times, metered per retry."""

    fixed = {"choice": "fixed", "kwargs": {"seconds": 60}, "max_retries": 5}
    hooks = _seed(stack, event_type, port, f"fail{fails}", RETRIES, countdown=fixed)
    dispatcher = _dispatcher(stack)
    event_id = str(uuid.uuid4())
    report = dispatcher.dispatch(OmsEvent(event_id, event_type, payload))
    dispatcher.pool.shutdown()
    if report.retrying != RETRIES:
        raise RuntimeError(f"expected {RETRIES} first attempts to fail: {report}")
    uuids = [delivery_id(event_id, hook.id) for hook in hooks]
    keys = [{"uuid": {"S": u}} for u in uuids]
    before = [item_size(item) for item in meter.images(stack.deliveries.table, keys)]
    clock().advance(61)  # type: ignore[attr-defined]
    retrier = Retrier(stack.hooks, stack.deliveries, dispatcher.sender, stack.retries, breaker=dispatcher.breaker)
    sqs_calls: Counter[str] = Counter()

    def count_sqs(model: Any, **_: Any) -> None:
        sqs_calls[model.name] += 1

    stack.retries.client.meta.events.register("after-call.sqs", count_sqs)
    meter.reset()
    started = time.perf_counter()
    messages = [RetryMessage(uuid=u, owner=h.owner) for u, h in zip(uuids, hooks, strict=True)]
    batch = retrier.prefetch(list(messages))
    with ThreadPoolExecutor(RETRIES) as pool:  # the handler runs a batch's records at once
        received = [Received(m, f"r{i}", 2, f"m{i}") for i, m in enumerate(messages)]
        reports = list(pool.map(lambda r: retrier.handle_safely(r, batch), received))
    retrier.finish(batch)
    seconds = time.perf_counter() - started
    stack.retries.client.meta.events.unregister("after-call.sqs", count_sqs)
    expected = "delivered" if fails == 1 else "retrying"
    if any(r.delivery is None or r.delivery.status != expected for r in reports):
        raise RuntimeError(f"the retries did not end {expected}: {[r.outcome for r in reports]}")
    after = [item_size(item) for item in meter.images(stack.deliveries.table, keys)]
    return {
        "retries": RETRIES,
        "outcome": expected,
        "write_units": sum(meter.writes.values()) / RETRIES,
        "units_by_place": {place: units / RETRIES for place, units in meter.writes.items()},
        "units_by_kind": {kind: units / RETRIES for kind, units in meter.kinds.items()},
        "read_units": meter.reads / RETRIES,
        "dynamodb_calls": dict(meter.calls),
        "sqs_requests": (2 + sum(sqs_calls.values())) / RETRIES,
        "seconds": seconds,
        "record_bytes_before": statistics.median(before),
        "record_bytes_after": statistics.median(after),
    }


def _log_page(endpoint: str, port: int, event_type: str, payload: Any) -> dict[str, Any]:
    """A page of 50 of an owner's deliveries as the delivery log reads it: its read units, calls and time."""

    with _metered_stack(endpoint, "page") as (stack, meter):
        [hook] = _seed(stack, event_type, port, "ok", 1)
        dispatcher = _dispatcher(stack)
        for _ in range(PAGE + 1):
            dispatcher.dispatch(OmsEvent(str(uuid.uuid4()), event_type, payload))
        dispatcher.pool.shutdown()
        timings = []
        for run in range(6):
            meter.paused = run > 0  # metered once, timed unmetered
            meter.reset()
            started = time.perf_counter()
            page = stack.deliveries.query_owner(hook.owner, {}, None, None, PAGE)
            timings.append(time.perf_counter() - started)
            if len(page.items) != PAGE:
                raise RuntimeError(f"a page of {len(page.items)}")
            if run == 0:
                reads, calls = meter.reads, dict(meter.calls)
    return {"deliveries": PAGE, "read_units": reads, "calls": calls, "ms": statistics.median(timings[1:]) * 1000}


def median_row(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return sorted(rows, key=lambda row: row["payload_bytes"])[len(rows) // 2]


def _span(low: float, high: float) -> str:
    return f"{low:.2f}" if low == high else f"{low:.2f}-{high:.2f}"


def render(rows: list[dict[str, Any]]) -> list[str]:
    sizes = sorted(row["record_bytes"] for row in rows)
    payloads = sorted(row["payload_bytes"] for row in rows)
    units = sorted(row["write_units"] for row in rows)
    middle = median_row(rows)
    places = ", ".join(f"{u:g} in {place}" for place, u in middle["units_by_place"].items())
    lines = [
        "### Delivery records, measured",
        "",
        f"Each of the {len(rows)} sample events (`events/eventbridge/`) dispatched to {HOOKS_PER_EVENT} hooks",
        "(secrets, a header of their own), every write metered by DynamoDB's rules from the items before and after it",
        f"(`python -m bench.record_size`): payloads of {payloads[0]:,}-{payloads[-1]:,} bytes make records of",
        f"{sizes[0]:,.0f}-{sizes[-1]:,.0f} bytes; a first-attempt delivery takes {_span(units[0], units[-1])}",
        f"write units, the median event ({middle['event_type']}, {middle['record_bytes']:,.0f}-byte records)",
        f"{middle['write_units']:.2f}: {places} (the event's claim shared by its deliveries). Stored:",
        f"{middle['stored_bytes']:,.0f} bytes per delivery with its index entries and DynamoDB's overheads.",
    ]
    retry = middle.get("retry")
    if retry:
        places = ", ".join(f"{u:g} in {place}" for place, u in retry["units_by_place"].items())
        lines += [
            f"A retry (a batch of {retry['retries']}, each failed once with a short 500):",
            f"{retry['write_units']:.2f} write units ({places}), {retry['read_units']:.2f} read units,",
            f"{retry['sqs_requests']:.2f} SQS requests; the record is {retry['record_bytes_before']:,.0f} bytes before",
            f"and {retry['record_bytes_after']:,.0f} after.",
        ]
    page = middle.get("page")
    if page:
        calls = ", ".join(f"{name} {count}" for name, count in sorted(page["calls"].items()))
        lines += [
            f"A page of {page['deliveries']} deliveries of the log: {page['read_units']:.1f} read units ({calls}),",
            f"{page['ms']:.0f} ms against moto.",
        ]
    return [*lines, ""]


if __name__ == "__main__":
    found = measure_record_sizes()
    for row in found:
        print(
            f"{row['event_type']:36} payload {row['payload_bytes']:5} record {row['record_bytes']:6.0f} "
            f"write units {row['write_units']:.2f} {row['units_by_place']} stored {row['stored_bytes']:.0f}"
        )
    print(json.dumps(median_row(found).get("retry"), indent=2))
    print("\n".join(render(found)))
