"""The four countdown strategies against DESIGN.md's formulas."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from oms_webhooks.domain.retry_countdown import MAX_COUNTDOWN_SECONDS, RetryCountdownConfig, default_countdown

CONFIG = TypeAdapter(RetryCountdownConfig)


def countdown(choice: str, **kwargs: float) -> RetryCountdownConfig:
    return CONFIG.validate_python({"choice": choice, "kwargs": kwargs})


def test_fixed_waits_the_same_every_time() -> None:
    config = countdown("fixed", seconds=2)
    assert [config.wait(n) for n in range(4)] == [2, 2, 2, 2]


def test_linear_is_base_times_n_capped_by_limit() -> None:
    assert [countdown("linear", base=3).wait(n) for n in range(4)] == [0, 3, 6, 9]
    assert [countdown("linear", base=3, limit=5).wait(n) for n in range(4)] == [0, 3, 5, 5]


def test_exponential_is_base_to_the_n_times_factor_capped_by_limit() -> None:
    assert [countdown("exponential", base=2).wait(n) for n in range(5)] == [1, 2, 4, 8, 16]
    assert [countdown("exponential", base=2, factor=3).wait(n) for n in range(4)] == [3, 6, 12, 24]
    assert [countdown("exponential", base=2, factor=3, limit=10).wait(n) for n in range(4)] == [3, 6, 10, 10]


def test_exponential_never_overflows_past_the_global_cap() -> None:
    assert countdown("exponential", base=1000).wait(50) == MAX_COUNTDOWN_SECONDS


def test_random_is_an_integer_within_bounds() -> None:
    config = countdown("random", min_value=2, max_value=4)
    waits = {config.wait(n) for n in range(200)}
    assert waits == {2, 3, 4}


def test_default_is_exponential_base_2_with_ten_retries() -> None:
    config = default_countdown()
    assert config.model_dump(exclude_none=True) == {
        "choice": "exponential",
        "kwargs": {"base": 2, "factor": 1},
        "max_retries": 10,
    }


@pytest.mark.parametrize(
    "raw",
    [
        {"choice": "fixed", "kwargs": {"seconds": -1}},
        {"choice": "linear", "kwargs": {}},
        {"choice": "exponential", "kwargs": {"base": 2, "factor": 0}},
        {"choice": "random", "kwargs": {"min_value": 3, "max_value": 1}},
        {"choice": "random", "kwargs": {"min_value": 1.5, "max_value": 3}},
        {"choice": "fixed", "kwargs": {"seconds": True}},
        {"choice": "fixed", "kwargs": {"seconds": 1}, "max_retries": -1},
        {"choice": "nope", "kwargs": {}},
    ],
)
def test_invalid_configs_are_refused(raw: dict) -> None:
    with pytest.raises(ValidationError):
        CONFIG.validate_python(raw)


def test_whole_numbers_written_as_floats_are_integers() -> None:
    config = CONFIG.validate_python(
        {"choice": "random", "kwargs": {"min_value": 1.0, "max_value": 3.0}, "max_retries": 10.0}
    )
    assert config.max_retries == 10 and isinstance(config.max_retries, int)
    with pytest.raises(ValidationError):
        CONFIG.validate_python({"choice": "fixed", "kwargs": {"seconds": 1}, "max_retries": 2.5})
