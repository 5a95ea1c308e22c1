"""Configuration from the function's environment, read once when first needed."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache


def _flag(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Settings:
    hooks_table: str
    tokens_table: str
    deliveries_table: str
    allow_loopback_targets: bool


@cache
def settings() -> Settings:
    return Settings(
        hooks_table=os.environ.get("HOOKS_TABLE", ""),
        tokens_table=os.environ.get("TOKENS_TABLE", ""),
        deliveries_table=os.environ.get("DELIVERIES_TABLE", ""),
        allow_loopback_targets=_flag("ALLOW_LOOPBACK_TARGETS"),
    )
