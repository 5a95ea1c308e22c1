"""CPU (getrusage) of hook filters in the dispatcher, for 1,000 hooks of package.created and its sample payload.

`python -m bench.filter_cost` prints, in ms per 1,000 hooks: reading their dispatch cards (once after a change of
the type's hooks) and making their pending deliveries (every dispatch), for hooks without a filter, with a typical
one that matches, and with one that does not; and, interleaved in this one process, the pending step as it was
before filters (no check) beside the one with the check, for hooks without a filter.
"""

from __future__ import annotations

import json
import resource
import statistics
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from bench.services import ROOT
from oms_webhooks.adapters.hook_store import _dispatch_card, _from_dispatch_card
from oms_webhooks.domain.hooks import Hook, HookTarget
from oms_webhooks.domain.oms_event import OmsEvent
from oms_webhooks.rules.dispatch import Dispatcher, DispatchReport

HOOKS = 1000
ROUNDS = 30
FILTERS: dict[str, dict[str, Any] | None] = {
    "none": None,
    "typical": {
        "channel_name": ["Shop", "Web"],
        "state": {"name": [{"anything-but": "Cancelled"}]},
        "stock_location": {"address": {"township": [{"equals-ignore-case": "TUZLA"}]}},
    },
    "no match": {"channel_name": ["Web"]},
}


def cpu_ms(work: Callable[[], object], rounds: int = ROUNDS) -> float:
    """CPU time of one run of `work`, in ms: user and system, over `rounds` runs."""

    def used() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    start = used()
    for _ in range(rounds):
        work()
    return (used() - start) / rounds * 1000


def main() -> None:
    payload = json.loads((ROOT / "events/eventbridge/package.created.json").read_text())["detail"]["payload"]
    event = OmsEvent("bench", "package.created", payload)
    dispatcher = Dispatcher.__new__(Dispatcher)  # only its pending step: no pools, stores or network
    dispatcher.retention_days = 90
    moment = datetime.now(UTC)
    targets: list[HookTarget] = []
    for name, pattern in FILTERS.items():
        extra = {"filter": pattern} if pattern else {}
        hooks = [
            Hook(
                id=i,
                owner="bench",
                event_type="package.created",
                target_url=f"https://h{i}.example/x",
                created_date=moment,
                modified_date=moment,
                **extra,
            )
            for i in range(HOOKS)
        ]
        cards = [_dispatch_card(hook) for hook in hooks]
        targets = [_from_dispatch_card("package.created", card) for card in cards]
        read = cpu_ms(lambda cards=cards: [_from_dispatch_card("package.created", card) for card in cards])
        made = len(list(dispatcher._pending(event, [targets], DispatchReport("bench", "package.created"))))
        pending = cpu_ms(lambda targets=targets: list(dispatcher._pending(event, [targets], DispatchReport("b", "t"))))
        print(f"{name:>8}: cards {read:6.2f} ms, pending deliveries {pending:6.2f} ms ({made} made)")

    unfiltered = [_from_dispatch_card("package.created", _dispatch_card(target)) for target in targets]
    unfiltered = [target.model_copy(update={"filter": None}) for target in unfiltered]

    def before(pages: list[list[HookTarget]], report: DispatchReport) -> Iterator[tuple[HookTarget, Any]]:
        for page in pages:  # the pending step before filters, verbatim
            report.hooks += len(page)
            for hook in page:
                yield hook, dispatcher._new_delivery(event, hook)

    samples: dict[str, list[float]] = {"before": [], "with the check": []}
    for _ in range(15):
        samples["before"].append(cpu_ms(lambda: list(before([unfiltered], DispatchReport("b", "t"))), 10))
        samples["with the check"].append(
            cpu_ms(lambda: list(dispatcher._pending(event, [unfiltered], DispatchReport("b", "t"))), 10)
        )
    print({name: f"{statistics.median(values):.2f} ms" for name, values in samples.items()}, "(no filters)")


if __name__ == "__main__":
    main()
