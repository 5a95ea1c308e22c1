"""Configuration from the function's environment, parsed at cold start (each function's app.py calls `settings()` on
import) so that a missing or malformed variable fails the init, naming it, rather than the first request.

A dataclass with a small parser rather than a pydantic model: the authorizer imports this module and no pydantic,
which would add about 74 ms (a third) to its cold start.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from functools import cache
from typing import Any

_TRUE, _FALSE = frozenset({"1", "true", "yes", "on", "t", "y"}), frozenset({"0", "false", "no", "off", "f", "n"})


class SettingsError(ValueError):
    """The environment lacks a variable the functions need, or holds one they cannot use."""


def variable(
    name: str, default: Any = MISSING, ge: float | None = None, gt: float | None = None, le: float | None = None
) -> Any:
    """A setting read from the environment variable `name`; no default: required (and not empty)."""
    return field(default=default, metadata={"env": name, "ge": ge, "gt": gt, "le": le})


@dataclass(frozen=True)
class Settings:
    """Each field's variable is its environment variable; the defaults and bounds are the template parameters'."""

    # Tables and queues: the template gives every function all of them, so none has a default.
    hooks_table: str = variable("HOOKS_TABLE")
    tokens_table: str = variable("TOKENS_TABLE")
    portal_sessions_table: str = variable("PORTAL_SESSIONS_TABLE")
    deliveries_table: str = variable("DELIVERIES_TABLE")
    retry_queue_url: str = variable("RETRY_QUEUE_URL")
    fanout_queue_url: str = variable("FANOUT_QUEUE_URL")
    ordered_queue_url: str = variable("ORDERED_QUEUE_URL")
    # The template's KeepPreviousOwnerIndex: the owner's log is read from the previous release's index while the
    # upgrade from it fills today's (README, "Upgrading a deployed stack").
    owner_log_from_previous_index: bool = variable("OWNER_LOG_FROM_PREVIOUS_INDEX", False)
    fanout_batch_size: int = variable("FANOUT_BATCH_SIZE", 1000, ge=25)
    allow_loopback_targets: bool = variable("ALLOW_LOOPBACK_TARGETS", False)
    connect_timeout: float = variable("DELIVERY_CONNECT_TIMEOUT", 5.0, gt=0)
    total_timeout: float = variable("DELIVERY_TOTAL_TIMEOUT", 15.0, gt=0)
    dispatch_concurrency: int = variable("DISPATCH_CONCURRENCY", 128, ge=1)
    delivery_threads_on_one_cpu: bool = variable("DELIVERY_THREADS_ON_ONE_CPU", True)
    retention_days: int = variable("DELIVERY_RETENTION_DAYS", 90, ge=1)
    retry_resend_after_receives: int = variable("RETRY_RESEND_AFTER_RECEIVES", 15, ge=1)
    circuit_open_after_failures: int = variable("CIRCUIT_OPEN_AFTER_FAILURES", 5, ge=1)
    circuit_open_after_seconds: float = variable("CIRCUIT_OPEN_AFTER_SECONDS", 60.0, ge=0)
    circuit_probe_seconds: float = variable("CIRCUIT_PROBE_SECONDS", 30.0, ge=1)
    circuit_probe_max_seconds: float = variable("CIRCUIT_PROBE_MAX_SECONDS", 900.0, ge=1)
    auto_disable_after_seconds: float = variable("AUTO_DISABLE_AFTER", 5 * 86400.0, ge=60)
    auto_disable_min_attempts: int = variable("AUTO_DISABLE_MIN_ATTEMPTS", 20, ge=1)
    max_connections_per_host: int = variable("MAX_CONNECTIONS_PER_HOST", 16, ge=1, le=128)
    event_bus_name: str = variable("EVENT_BUS_NAME", "")  # where operational events go; unset: only logged
    ordering_window_seconds: float = variable("ORDERING_WINDOW_SECONDS", 1.0, ge=0, le=60)
    sequencer_concurrency_per_owner: int = variable("SEQUENCER_CONCURRENCY_PER_OWNER", 5, ge=1, le=1000)

    @classmethod
    def from_environment(cls, environment: Mapping[str, str]) -> Settings:
        """Every problem named at once, in the order of the fields."""
        values: dict[str, Any] = {}
        problems: list[str] = []
        for spec in fields(cls):
            name = spec.metadata["env"]
            if name not in environment:
                if spec.default is MISSING:
                    problems.append(f"{name} is not set")
                continue
            try:
                values[spec.name] = _parsed(environment[name], spec.type, spec.metadata)
            except ValueError as why:
                problems.append(f"{name}={environment[name]!r}: {why}")
        if problems:
            raise SettingsError(f"the function's environment is not usable: {'; '.join(problems)}")
        return cls(**values)


def variables() -> list[str]:
    """The environment variables the settings read."""
    return [spec.metadata["env"] for spec in fields(Settings)]


def _parsed(text: str, kind: Any, bounds: Mapping[str, float | None]) -> Any:
    if kind in (str, "str"):
        if not text:
            raise ValueError("String should have at least 1 character")
        return text
    if kind in (bool, "bool"):
        word = text.strip().lower()
        if word not in _TRUE | _FALSE:
            raise ValueError("Input should be a valid boolean")
        return word in _TRUE
    number: float
    if kind in (int, "int"):
        try:
            number = int(text.strip())
        except ValueError:
            raise ValueError("Input should be a valid integer") from None
    else:
        try:
            number = float(text)
        except ValueError:
            raise ValueError("Input should be a valid number") from None
        if not math.isfinite(number):
            raise ValueError("Input should be a finite number")
    if bounds["ge"] is not None and number < bounds["ge"]:
        raise ValueError(f"Input should be greater than or equal to {bounds['ge']:g}")
    if bounds["gt"] is not None and number <= bounds["gt"]:
        raise ValueError(f"Input should be greater than {bounds['gt']:g}")
    if bounds["le"] is not None and number > bounds["le"]:
        raise ValueError(f"Input should be less than or equal to {bounds['le']:g}")
    return number


@cache
def settings() -> Settings:
    return Settings.from_environment(os.environ)
