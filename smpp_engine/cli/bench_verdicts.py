"""Each benchmark figure beside its target, with a verdict: met, not met, or no target.

A benchmark's JSON record carries its targets among its figures (``target_per_s``,
``target_p50_ms``...), but not which figure each one judges, nor in which direction;
:data:`TARGETS` says so, once, per benchmark. A figure no target judges, and every
figure of a benchmark this table does not know, is shown with "no target" rather
than guessed at.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["TARGETS", "Judged", "Target", "Verdict", "judge"]


class Verdict(enum.Enum):
    MET = "met"
    NOT_MET = "not met"
    NO_TARGET = "no target"


@dataclass(frozen=True, slots=True)
class Target:
    """``figure`` is judged by the record's ``target`` figure: at least it, or at most it."""

    figure: str
    target: str
    at_most: bool = False  # latencies and memory: lower is better

    def verdict(self, value: float, limit: float) -> Verdict:
        met = value <= limit if self.at_most else value >= limit
        return Verdict.MET if met else Verdict.NOT_MET

    def describe(self, limit: float) -> str:
        return f"{'≤' if self.at_most else '≥'} {limit:g}"


#: Keyed by the record's ``benchmark`` (its module's name in ``benchmarks/``).
TARGETS: dict[str, tuple[Target, ...]] = {
    "b1_codec": (Target("ratio_to_smpplib", "target_ratio"),),
    "b2_wire": (Target("share_of_raw_client", "target_share_of_raw_client"),),
    "b3_receipts": (Target("share_of_b2", "target_share_of_b2"),),
    "b4_durable": (
        Target("sqlite_codec_ops_per_msg", "target_codec_ops", at_most=True),
        Target("postgresql_codec_ops_per_msg", "target_codec_ops", at_most=True),
    ),
    "b4_store": (
        Target("sqlite_messages_per_s", "target_per_s"),
        Target("postgresql_messages_per_s", "target_per_s"),
    ),
    "b5_billing": (
        Target("p50_ms", "target_p50_ms", at_most=True),
        Target("p99_ms", "target_p99_ms", at_most=True),
        Target("growth_ms", "target_growth_ms", at_most=True),
    ),
    "b6_kannel": (
        Target("ratio_to_kannel", "target_ratio_to_kannel"),
        Target("batch_ratio_to_kannel", "target_batch_ratio_to_kannel"),
    ),
    "b7_simulator": (Target("ratio_to_b2", "target_ratio_to_b2"),),
    "b9_server_face": (
        Target("share_of_b4", "target_share_of_b4"),
        # Only in a record of a run that found Jasmin (benchmarks/peers/jasmin.py).
        Target("ratio_to_jasmin", "target_ratio_to_jasmin"),
    ),
    "b10_callbacks": (Target("record_share_while_posting", "target_record_share"),),
    "b8_memory": (
        Target("sqlite_peak_rss_mib", "target_mib", at_most=True),
        Target("postgresql_peak_rss_mib", "target_mib", at_most=True),
    ),
    "b11_shared_rate": (
        Target("max_error_pct", "target_error_pct", at_most=True),
        Target("max_recovery_s", "target_recovery_s", at_most=True),
    ),
}


@dataclass(frozen=True, slots=True)
class Judged:
    """One figure of a record as the summary shows it; ``target`` is empty without one."""

    figure: str
    value: Any
    target: str
    verdict: Verdict


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def judge(record: Mapping[str, Any]) -> list[Judged]:
    """Every figure of a benchmark's JSON record, in its order, the targets themselves left out."""
    figures: Mapping[str, Any] = record.get("figures", {})
    targets = {t.figure: t for t in TARGETS.get(str(record.get("benchmark")), ())}
    limits = {t.target for t in targets.values()}
    judged = []
    for name, value in figures.items():
        if name in limits:
            continue  # shown beside the figure it judges
        target = targets.get(name)
        limit = _number(figures.get(target.target)) if target else None
        number = _number(value)
        if target is None or limit is None or number is None:
            judged.append(Judged(name, value, "", Verdict.NO_TARGET))
            continue
        judged.append(Judged(name, value, target.describe(limit), target.verdict(number, limit)))
    return judged
