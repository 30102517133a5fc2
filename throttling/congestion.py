"""The SMPP 5.0 ``congestion_state`` TLV (0x0428): the SMSC's load as a percentage.

SMPP 5.0 section 4.8.4.18 bands the value 0-100; an ESME should aim to keep the
SMSC in the optimum band, 80-89, and slow down above it.
"""

from __future__ import annotations

import enum


class CongestionBand(enum.StrEnum):
    IDLE = "idle"  # 0
    LOW = "low"  # 1-29
    MEDIUM = "medium"  # 30-49
    HIGH = "high"  # 50-79
    OPTIMUM = "optimum"  # 80-89
    NEARING_CONGESTION = "nearing_congestion"  # 90-99
    CONGESTED = "congested"  # 100


def congestion_band(state: int) -> CongestionBand:
    """The band of a ``congestion_state`` value; ValueError outside 0-100 (reserved)."""
    if isinstance(state, bool) or not isinstance(state, int) or not 0 <= state <= 100:
        raise ValueError(f"congestion_state must be an integer 0-100, got {state!r}")
    if state == 0:
        return CongestionBand.IDLE
    if state < 30:
        return CongestionBand.LOW
    if state < 50:
        return CongestionBand.MEDIUM
    if state < 80:
        return CongestionBand.HIGH
    if state < 90:
        return CongestionBand.OPTIMUM
    if state < 100:
        return CongestionBand.NEARING_CONGESTION
    return CongestionBand.CONGESTED
