"""The base of every settings table: strict types, no unknown keys, immutable."""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel, ConfigDict

__all__ = ["Section", "table_model"]


class Section(BaseModel):
    # strict: TOML already gives typed values, so "10" for a number is a mistake
    # to report, not to coerce.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def table_model(annotation: Any) -> type[BaseModel] | None:
    """The table a field holds: ``T``, ``T | None`` or ``list[T]`` for a model ``T``."""
    if typing.get_origin(annotation) is list:
        (annotation,) = typing.get_args(annotation)
    members: tuple[Any, ...] = (annotation,)
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        members = typing.get_args(annotation)
    for member in members:
        if isinstance(member, type) and issubclass(member, BaseModel):
            return member
    return None
