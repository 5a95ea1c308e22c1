"""Retry countdown strategies: how long to wait before retry n, per the hook's retry_countdown_config."""

from __future__ import annotations

import random
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

DEFAULT_MAX_RETRIES = 10
MAX_RETRIES_CAP = 50
# A countdown never exceeds a week: anything longer outlives the usefulness of an OMS event.
MAX_COUNTDOWN_SECONDS = 7 * 24 * 3600


def _whole(value: object) -> object:
    """JSON has one number type: `10.0` is the integer 10, as Django REST framework reads it."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# Numbers are kept as the client wrote them, so `2` reads back as `2`. Bounds sit on each member of a union
# so that the OpenAPI document states them as minimum/maximum.
NonNegative = (
    Annotated[int, Field(ge=0, le=MAX_COUNTDOWN_SECONDS)]
    | Annotated[float, Field(ge=0, le=MAX_COUNTDOWN_SECONDS, allow_inf_nan=False)]
)
Base = Annotated[int, Field(ge=0, le=1_000)] | Annotated[float, Field(ge=0, le=1_000, allow_inf_nan=False)]
Factor = (
    Annotated[int, Field(ge=1, le=MAX_COUNTDOWN_SECONDS)]
    | Annotated[float, Field(ge=1, le=MAX_COUNTDOWN_SECONDS, allow_inf_nan=False)]
)
WholeSeconds = Annotated[Annotated[int, Field(ge=0, le=MAX_COUNTDOWN_SECONDS)], BeforeValidator(_whole)]
MaxRetries = Annotated[Annotated[int, Field(ge=0, le=MAX_RETRIES_CAP)], BeforeValidator(_whole)]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class FixedKwargs(_Strict):
    seconds: NonNegative


class LinearKwargs(_Strict):
    base: NonNegative
    limit: NonNegative | None = None


class ExponentialKwargs(_Strict):
    base: Base
    factor: Factor = 1
    limit: NonNegative | None = None


class RandomKwargs(_Strict):
    min_value: WholeSeconds
    max_value: WholeSeconds

    @model_validator(mode="after")
    def _ordered(self) -> RandomKwargs:
        if self.min_value >= self.max_value:
            raise ValueError("min_value must be less than max_value.")
        return self


class FixedCountdown(_Strict):
    choice: Literal["fixed"]
    kwargs: FixedKwargs
    max_retries: MaxRetries = DEFAULT_MAX_RETRIES

    def wait(self, retries_made: int) -> float:
        return self.kwargs.seconds


class LinearCountdown(_Strict):
    choice: Literal["linear"]
    kwargs: LinearKwargs
    max_retries: MaxRetries = DEFAULT_MAX_RETRIES

    def wait(self, retries_made: int) -> float:
        return _capped(self.kwargs.base * retries_made, self.kwargs.limit)


class ExponentialCountdown(_Strict):
    choice: Literal["exponential"]
    kwargs: ExponentialKwargs
    max_retries: MaxRetries = DEFAULT_MAX_RETRIES

    def wait(self, retries_made: int) -> float:
        try:
            raw = self.kwargs.base**retries_made * self.kwargs.factor
        except OverflowError:
            raw = float(MAX_COUNTDOWN_SECONDS)
        return _capped(raw, self.kwargs.limit)


class RandomCountdown(_Strict):
    choice: Literal["random"]
    kwargs: RandomKwargs
    max_retries: MaxRetries = DEFAULT_MAX_RETRIES

    def wait(self, retries_made: int) -> float:
        return float(random.randint(self.kwargs.min_value, self.kwargs.max_value))


RetryCountdownConfig = Annotated[
    FixedCountdown | LinearCountdown | ExponentialCountdown | RandomCountdown,
    Field(discriminator="choice"),
]


def default_countdown() -> ExponentialCountdown:
    return ExponentialCountdown(choice="exponential", kwargs=ExponentialKwargs(base=2))


def _capped(seconds: float, limit: float | None) -> float:
    if limit is not None:
        seconds = min(seconds, limit)
    return min(seconds, MAX_COUNTDOWN_SECONDS)
