"""A delivery's attempts in one short line, stored beside the record for the `ByHook` index (stats read it).

One `<at epoch ms>:<duration ms>:<HTTP status, or 0 for no answer>` per attempt, `;`-separated: about 25 bytes an
attempt, where the full `attempts` (headers and all) take hundreds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from oms_webhooks.domain.deliveries import Attempt


@dataclass(frozen=True)
class LoggedAttempt:
    at: float  # epoch seconds
    duration_ms: float
    status_code: int  # 0: no answer (timeout, refused, not sent)

    @property
    def succeeded(self) -> bool:
        return 200 <= self.status_code < 300


def attempt_log(attempts: Iterable[Attempt]) -> str:
    return ";".join(f"{round(a.at.timestamp() * 1000)}:{a.duration * 1000:.1f}:{a.status_code or 0}" for a in attempts)


def parse_attempt_log(log: str) -> list[LoggedAttempt]:
    found = []
    for entry in filter(None, log.split(";")):
        at, duration, status = entry.split(":")
        found.append(LoggedAttempt(int(at) / 1000, float(duration), int(status)))
    return found
