"""A setting's default is the default of what it configures, read from there.

Each default is written once, beside the code that uses it: ``window`` is
:class:`~smpp_engine.esme.EsmeConfig`'s ``window_size``, ``lease`` is
:class:`~smpp_engine.pipeline.SmscRoute`'s, ``writer_batch`` is a parameter of
:class:`~smpp_engine.pipeline.Pipeline`. The settings models read them with
:func:`field_default` and :func:`parameter_default`; ``config/default.toml`` and
``config/README.md`` repeat them for people, and a test keeps all three equal.
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
from collections.abc import Callable
from typing import Any

__all__ = ["field_default", "parameter_default"]


def field_default(owner: type[Any], name: str) -> Any:
    """The default of dataclass field ``name`` of ``owner``; an enum gives its value.

    KeyError when the field has no plain default (none, or a factory).
    """
    for found in dataclasses.fields(owner):
        if found.name == name and found.default is not dataclasses.MISSING:
            return _plain(found.default)
    raise KeyError(f"{owner.__name__}.{name} has no default")


def parameter_default(function: Callable[..., Any], name: str) -> Any:
    """The default of parameter ``name`` of ``function``; an enum gives its value."""
    default = inspect.signature(function).parameters[name].default
    if default is inspect.Parameter.empty:
        raise KeyError(f"{function.__qualname__}({name}) has no default")
    return _plain(default)


def _plain(value: Any) -> Any:
    # The settings hold TOML's types: "transceiver", not BindType.TRANSCEIVER.
    return value.value if isinstance(value, enum.Enum) else value
