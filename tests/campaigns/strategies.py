"""Hypothesis strategies shared by the campaign tests."""

from __future__ import annotations

from hypothesis import strategies as st

# E.164 numbers as the normaliser returns them: 8-15 digits, no leading 0.
msisdns = st.builds(
    lambda first, rest: first + rest,
    st.sampled_from("123456789"),
    st.text("0123456789", min_size=7, max_size=14),
)


@st.composite
def spelled(draw: st.DrawFn, digits: str) -> str:
    """``digits`` written the ways people write numbers: prefixes, groups, brackets."""
    prefix = draw(st.sampled_from(["", "+", "00", "+ ", "00 "]))
    out: list[str] = []
    i = 0
    while i < len(digits):
        size = draw(st.integers(1, 4))
        group = digits[i : i + size]
        if draw(st.booleans()) and i == 0:
            group = f"({group})"
        out.append(group)
        i += size
    separators = st.sampled_from([" ", "-", ".", "", "\u00a0"])
    text = out[0] + "".join(draw(separators) + group for group in out[1:])
    padding = st.sampled_from(["", " ", "\t"])
    return draw(padding) + prefix + text + draw(padding)
