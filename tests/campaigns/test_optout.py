"""The opt-out snapshot, and which campaign kinds honour it."""

from __future__ import annotations

import pytest
from hypothesis import given

from smpp_engine.campaigns import CampaignKind, MsisdnError, OptOutList

from .strategies import msisdns, spelled


def test_any_spelling_of_an_opted_out_number_matches() -> None:
    opted = OptOutList(["+44 7700 900123"])
    assert opted.is_opted_out("447700900123")
    assert opted.is_opted_out("0044 7700-900123")
    assert "447700900123" in opted
    assert not opted.is_opted_out("447700900124")
    assert list(opted) == ["447700900123"]
    assert len(opted) == 1


def test_national_numbers_use_the_default_country_code() -> None:
    opted = OptOutList(["07700 900123"], default_country_code="44")
    assert opted.is_opted_out("+447700900123")
    assert opted.is_opted_out("07700900123")


def test_add_and_discard() -> None:
    opted = OptOutList()
    assert opted.add("+359 888 123 456") == "359888123456"
    assert "359888123456" in opted
    opted.discard("00359888123456")
    assert "359888123456" not in opted
    opted.discard("359888123456")  # not there: no error


def test_a_malformed_number_cannot_be_added_or_asked_about() -> None:
    with pytest.raises(MsisdnError):
        OptOutList(["not a number"])
    with pytest.raises(MsisdnError):
        OptOutList().is_opted_out("12")
    # "in" answers without raising: no malformed number is on the list.
    assert "not a number" not in OptOutList(["447700900123"])
    assert 447700900123 not in OptOutList(["447700900123"])


@given(msisdns.flatmap(lambda d: spelled(d).map(lambda s: (d, s))))
def test_membership_does_not_depend_on_spelling(case: tuple[str, str]) -> None:
    digits, text = case
    assert text in OptOutList([digits])
    assert digits in OptOutList([text])


def test_only_legal_notices_bypass_the_opt_out_list() -> None:
    assert CampaignKind.BULK.respects_opt_out
    assert not CampaignKind.LEGAL_NOTICE.respects_opt_out
    assert {kind for kind in CampaignKind if not kind.respects_opt_out} == {
        CampaignKind.LEGAL_NOTICE
    }
