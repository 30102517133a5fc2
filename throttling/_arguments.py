"""Argument checks shared by the limiters: each error names the parameter and its value."""

from __future__ import annotations

import math


def positive(name: str, value: float) -> float:
    """``value`` as a float if it is finite and above zero, else ValueError."""
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return float(value)


def at_least_one(name: str, value: float) -> float:
    """``value`` as a float if it is finite and at least 1, else ValueError."""
    if not (math.isfinite(value) and value >= 1):
        raise ValueError(f"{name} must be a finite number >= 1, got {value!r}")
    return float(value)


def non_negative(name: str, value: float) -> float:
    """``value`` as a float if it is finite and not below zero, else ValueError."""
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def fraction(name: str, value: float) -> float:
    """``value`` as a float if 0 < value < 1, else ValueError."""
    if not (0 < value < 1):
        raise ValueError(f"{name} must be between 0 and 1 (exclusive), got {value!r}")
    return float(value)
