"""A package's public names loaded from their modules when first used (PEP 562).

A package whose ``__init__`` imports every module makes the cheapest command pay
for all of them: ``smpp-engine billing sms`` needs one message type of the
pipeline, not its dispatcher, the SMPP client and the metrics.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from importlib import import_module
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, namespace: dict[str, Any], modules: Mapping[str, Sequence[str]]
) -> Callable[[str], Any]:
    """The ``__getattr__`` of ``package``: each name of ``modules`` (module -> names)
    imported from its module at first use, then kept in ``namespace`` (the package's
    globals) so the next lookup is a plain one."""
    where = {name: module for module, names in modules.items() for name in names}

    def load(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(f".{module}", package), name)
        namespace[name] = value
        return value

    return load
