"""Distributions and weighted choices, all drawn from the simulator's one seeded RNG.

Every random decision of the simulator (latency, error statuses, receipt states
and delays, duplicates, random message ids) comes from one ``random.Random``
seeded by the scenario, so the same scenario and the same traffic replay the
same outcomes. The hot path asks :func:`sampler` and :class:`WeightedChoice`
for plain callables once, when a scenario is applied, and calls those per PDU;
a constant distribution or a one-entry mix makes no draw at all.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from collections.abc import Callable, Mapping
from itertools import accumulate
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

T = TypeVar("T")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Fixed(_Model):
    """Always ``value`` seconds."""

    distribution: Literal["fixed"] = "fixed"
    value: float = Field(default=0.0, ge=0)


class Uniform(_Model):
    """Uniform between ``low`` and ``high`` seconds."""

    distribution: Literal["uniform"]
    low: float = Field(ge=0)
    high: float = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.high < self.low:
            raise ValueError(f"high ({self.high}) must not be below low ({self.low})")
        return self


class Exponential(_Model):
    """Exponential with mean ``mean`` seconds, cut at ``max`` when given."""

    distribution: Literal["exponential"]
    mean: float = Field(gt=0)
    max: float | None = Field(default=None, gt=0)


class LogNormal(_Model):
    """Log-normal with median ``median`` seconds and shape ``sigma``, cut at ``max``."""

    distribution: Literal["lognormal"]
    median: float = Field(gt=0)
    sigma: float = Field(ge=0)
    max: float | None = Field(default=None, gt=0)


def _number_is_fixed(value: Any) -> Any:
    # `delay = 0.5` in TOML means a fixed delay; tables name their distribution.
    if isinstance(value, int | float) and not isinstance(value, bool):
        return {"distribution": "fixed", "value": value}
    return value


Distribution = Annotated[
    Fixed | Uniform | Exponential | LogNormal,
    Field(discriminator="distribution"),
    BeforeValidator(_number_is_fixed),
]

ZERO = Fixed()


def constant_value(distribution: Fixed | Uniform | Exponential | LogNormal) -> float | None:
    """The value a distribution always gives, or None when it varies."""
    if isinstance(distribution, Fixed):
        return distribution.value
    if isinstance(distribution, Uniform) and distribution.low == distribution.high:
        return distribution.low
    return None


def sampler(
    distribution: Fixed | Uniform | Exponential | LogNormal, rng: random.Random
) -> Callable[[], float]:
    """A callable drawing one value (seconds, never negative) from ``distribution``."""
    constant = constant_value(distribution)
    if constant is not None:
        return lambda: constant
    if isinstance(distribution, Uniform):
        low, high = distribution.low, distribution.high
        uniform = rng.uniform
        return lambda: uniform(low, high)
    if isinstance(distribution, Exponential):
        rate = 1.0 / distribution.mean
        cap = distribution.max if distribution.max is not None else math.inf
        expovariate = rng.expovariate
        return lambda: min(expovariate(rate), cap)
    assert isinstance(distribution, LogNormal)
    mu, sigma = math.log(distribution.median), distribution.sigma
    cap = distribution.max if distribution.max is not None else math.inf
    lognormvariate = rng.lognormvariate
    return lambda: min(lognormvariate(mu, sigma), cap)


class WeightedChoice(Generic[T]):
    """Pick one of several values with given weights, from ``rng``.

    One value (or one value with all the weight) is returned without a draw.
    """

    __slots__ = ("_cumulative", "_rng", "_total", "_values", "constant")

    def __init__(self, weights: Mapping[T, float], rng: random.Random) -> None:
        items = [(value, float(weight)) for value, weight in weights.items() if weight > 0]
        if not items:
            raise ValueError("a weighted mix needs at least one positive weight")
        self._values = [value for value, _ in items]
        self._cumulative = list(accumulate(weight for _, weight in items))
        self._total = self._cumulative[-1]
        self._rng = rng
        #: The value when there is only one, else None.
        self.constant: T | None = self._values[0] if len(items) == 1 else None

    def pick(self) -> T:
        if self.constant is not None:
            return self.constant
        point = self._rng.random() * self._total
        index = bisect_right(self._cumulative, point)
        return self._values[min(index, len(self._values) - 1)]


def chance(probability: float, rng: random.Random) -> Callable[[], bool] | None:
    """A callable that is true with ``probability``; None when it never is."""
    if probability <= 0:
        return None
    if probability >= 1:
        return lambda: True
    draw = rng.random
    return lambda: draw() < probability
