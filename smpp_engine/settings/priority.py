"""A message priority as settings and request bodies write it: by its label, parsed once.

``default_priority = "bulk"`` in the settings and ``"priority": "bulk"`` in a
request body both become :class:`throttling.Priority` when validated, through
:meth:`Priority.named` (the one label-to-member mapping); past validation the
priority is never a string again. Dumped (``config show``), it is its label.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import PlainSerializer, PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from throttling import Priority

__all__ = ["NamedPriority"]

_LABELS = [p.label for p in sorted(Priority, reverse=True)]
_EXPECTED = ", ".join(repr(label) for label in _LABELS[:-1]) + f" or {_LABELS[-1]!r}"


def _parse(value: object) -> Priority:
    if isinstance(value, Priority):  # given in code, e.g. a model built by a test
        return value
    if isinstance(value, str):
        try:
            return Priority.named(value)
        except ValueError:
            pass
    raise PydanticCustomError("priority", "Input should be {expected}", {"expected": _EXPECTED})


#: A :class:`Priority` field written by its label (``"transactional"``).
NamedPriority = Annotated[
    Priority,
    PlainValidator(_parse),
    PlainSerializer(lambda priority: priority.label, return_type=str),
    WithJsonSchema({"type": "string", "enum": _LABELS}),
]
