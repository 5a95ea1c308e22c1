"""Fixtures shared by the unit tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from oms_webhooks.settings import settings, variables

InEnvironment = Callable[..., None]


@pytest.fixture
def in_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[InEnvironment]:
    """Puts this process in a function's environment (as the template gives it) with `changes` (None: unset), the
    settings to be parsed from it; the session's are parsed again afterwards."""

    def enter(environment: dict[str, str], **changes: Any) -> None:
        for name in variables():
            monkeypatch.delenv(name, raising=False)
        for name, value in {**environment, **changes}.items():
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
        settings.cache_clear()

    yield enter
    settings.cache_clear()
