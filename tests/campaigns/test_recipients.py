"""De-duplication of recipients from any source (a group as well as a file)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from smpp_engine.campaigns import DuplicateRecipient, Recipient, deduplicate

from .strategies import msisdns


def test_the_first_recipient_of_a_number_is_kept_and_later_ones_reported() -> None:
    group = [
        Recipient("447700900123", {"name": "Ann"}, 1),
        Recipient("447700900124", {"name": "Bob"}, 2),
        Recipient("447700900123", {"name": "Ann 2"}, 3),
        Recipient("447700900123", {"name": "Ann 3"}, 4),
    ]
    kept, duplicates = deduplicate(group)
    assert kept == group[:2]
    assert duplicates == [
        DuplicateRecipient(3, "447700900123", 1),
        DuplicateRecipient(4, "447700900123", 1),
    ]


@given(st.lists(st.sampled_from(["447700900123", "447700900124"]) | msisdns, max_size=30))
def test_nothing_is_lost_and_nothing_repeats(numbers: list[str]) -> None:
    recipients = [Recipient(n, {}, line) for line, n in enumerate(numbers, 1)]
    kept, duplicates = deduplicate(recipients)
    assert [r.msisdn for r in kept] == list(dict.fromkeys(numbers))
    assert sorted([r.line for r in kept] + [d.line for d in duplicates]) == list(
        range(1, len(numbers) + 1)
    )
    first = {r.msisdn: r.line for r in kept}
    assert all(d.first_line == first[d.msisdn] < d.line for d in duplicates)
