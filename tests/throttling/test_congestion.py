"""The SMPP 5.0 congestion_state bands."""

from __future__ import annotations

import pytest

from throttling import CongestionBand, congestion_band


@pytest.mark.parametrize(
    ("state", "band"),
    [
        (0, CongestionBand.IDLE),
        (1, CongestionBand.LOW),
        (29, CongestionBand.LOW),
        (30, CongestionBand.MEDIUM),
        (49, CongestionBand.MEDIUM),
        (50, CongestionBand.HIGH),
        (79, CongestionBand.HIGH),
        (80, CongestionBand.OPTIMUM),
        (89, CongestionBand.OPTIMUM),
        (90, CongestionBand.NEARING_CONGESTION),
        (99, CongestionBand.NEARING_CONGESTION),
        (100, CongestionBand.CONGESTED),
    ],
)
def test_bands_follow_smpp_5_0(state: int, band: CongestionBand) -> None:
    assert congestion_band(state) is band


@pytest.mark.parametrize("state", [-1, 101, 255, True, 50.0])
def test_values_outside_0_to_100_are_refused(state: int) -> None:
    with pytest.raises(ValueError, match="congestion_state must be an integer 0-100"):
        congestion_band(state)
