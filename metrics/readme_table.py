"""The README's metric table, rendered from the catalogue so the two cannot drift.

``python -m metrics.readme_table`` prints it; paste it between the README's
``metrics-table`` markers (a test compares them).
"""

from __future__ import annotations

from prometheus_client.metrics import MetricWrapperBase

from . import catalogue

__all__ = ["catalogue_metrics", "exposed_name", "render_table"]

#: The suffix a counter's samples carry; prometheus_client keeps the name without it.
_COUNTER_SUFFIX = "_total"


def catalogue_metrics() -> list[MetricWrapperBase]:
    """Every metric defined in :mod:`metrics.catalogue`, in definition order."""
    return [value for value in vars(catalogue).values() if isinstance(value, MetricWrapperBase)]


def exposed_name(metric: MetricWrapperBase) -> str:
    """The name to query: a counter's with ``_total``, a histogram's family name."""
    name: str = metric._name
    return name + _COUNTER_SUFFIX if metric._type == "counter" else name


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render_table() -> str:
    """A Markdown table: name, type, labels, meaning (the help text)."""
    lines = ["| metric | type | labels | meaning |", "|---|---|---|---|"]
    for metric in catalogue_metrics():
        labels = ", ".join(f"`{label}`" for label in metric._labelnames) or "—"
        lines.append(
            f"| `{exposed_name(metric)}` | {metric._type} | {labels} | "
            f"{_cell(metric._documentation)} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(render_table())
