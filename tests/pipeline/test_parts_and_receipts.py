"""Claimed messages become the right PDUs; receipts become the right part states."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smpp_engine.pipeline import (
    PART_STATE,
    PartCountError,
    SubmitOptions,
    ValidityForm,
    concatenation_reference,
    receipt_update,
    submit_parts,
)
from smpp_engine.protocol import (
    Concatenation,
    MessageIdError,
    MessageIdPolicy,
    MessageState,
    PduError,
    Receipt,
    concatenation_info,
    parse_smpp_time,
    plan_text,
    response_id_key,
)
from smpp_engine.store import ClaimedMessage, PartState, ReceiptNoted


def claimed(
    text: str,
    *,
    message_id: int = 1000,
    pending: tuple[int, ...] | None = None,
    expires_at: float | None = None,
) -> ClaimedMessage:
    parts = plan_text(text).parts
    return ClaimedMessage(
        message_id=message_id,
        smsc="op",
        source="ACME",
        destination="447700900123",
        text=text,
        parts=parts,
        priority=0,
        registered_delivery=True,
        expires_at=expires_at,
        attempts=1,
        possible_duplicate=False,
        campaign_id=None,
        pending_parts=tuple(range(parts)) if pending is None else pending,
        source_ton=5,
        source_npi=0,
        dest_ton=1,
        dest_npi=1,
    )


def test_short_text_is_one_submit_with_the_message_fields() -> None:
    ((part, pdu),) = submit_parts(claimed("Your balance is 12.30 EUR"))
    assert part == 0
    assert pdu.short_message == b"Your balance is 12.30 EUR"
    assert (pdu.source_addr, pdu.source_addr_ton) == ("ACME", 5)
    assert (pdu.destination_addr, pdu.dest_addr_ton, pdu.dest_addr_npi) == ("447700900123", 1, 1)
    assert pdu.registered_delivery == 1
    assert pdu.esm_class == 0


def test_resumed_long_message_sends_only_its_pending_parts_with_the_same_reference() -> None:
    text = "Debt notice: please pay 123.45 EUR by 15 December. " * 8
    whole = submit_parts(claimed(text))
    assert len(whole) >= 3
    resumed = submit_parts(claimed(text, pending=(1, 2)))
    assert [part for part, _ in resumed] == [1, 2]
    # byte for byte the parts the first attempt would have sent: same UDH reference
    assert [pdu.short_message for _, pdu in resumed] == [
        whole[1][1].short_message,
        whole[2][1].short_message,
    ]
    info = concatenation_info(0x40, resumed[0][1].short_message, {})
    assert info is not None
    assert info.reference == concatenation_reference(1000, Concatenation.UDH8) == 1000 % 256
    assert all(pdu.esm_class == 0x40 for _, pdu in resumed)


def test_a_text_that_splits_differently_now_is_refused() -> None:
    message = claimed("short")
    wrong = ClaimedMessage(**{**{f: getattr(message, f) for f in message.__slots__}, "parts": 2})  # type: ignore[attr-defined]
    with pytest.raises(PartCountError, match="parts = 2"):
        submit_parts(wrong)


def test_unsendable_text_raises_the_typed_protocol_error() -> None:
    with pytest.raises(PduError):
        submit_parts(claimed("x" * 160 * 300))


# 2026-12-05 10:00:00 UTC, and the same day at 12:30:15.
SENT = datetime(2026, 12, 5, 10, tzinfo=UTC).timestamp()
EXPIRES = SENT + 2 * 3600 + 30 * 60 + 15


@pytest.mark.parametrize(
    ("form", "expected"),
    [
        (ValidityForm.NONE, ""),
        (ValidityForm.RELATIVE, "000000023015000R"),
        (ValidityForm.ABSOLUTE, "261205123015000+"),
    ],
)
def test_the_validity_goes_as_the_route_says(form: ValidityForm, expected: str) -> None:
    text = "Debt notice: please pay 123.45 EUR by 15 December. " * 4  # several parts
    sent = submit_parts(
        claimed(text, expires_at=EXPIRES), options=SubmitOptions(validity=form), now=SENT
    )
    assert len(sent) > 1
    assert {pdu.validity_period for _, pdu in sent} == {expected}
    if expected:
        moment = parse_smpp_time(expected, datetime.fromtimestamp(SENT, UTC))
        assert moment is not None and moment.timestamp() == EXPIRES


def test_a_message_without_expiry_sends_no_validity_whatever_the_route() -> None:
    for form in ValidityForm:
        ((_, pdu),) = submit_parts(claimed("Hi"), options=SubmitOptions(validity=form), now=SENT)
        assert pdu.validity_period == ""


@given(st.floats(-10, 200 * 24 * 3600))
def test_a_relative_validity_is_always_one_an_smsc_reads(left: float) -> None:
    period = SubmitOptions(validity=ValidityForm.RELATIVE).validity_period(SENT + left, SENT)
    moment = parse_smpp_time(period, datetime.fromtimestamp(SENT, UTC))
    assert moment is not None
    # At least a second; at most what SMPP's relative form holds (99 days).
    assert 1 <= moment.timestamp() - SENT <= 100 * 24 * 3600


def test_more_parts_than_the_route_allows_is_refused() -> None:
    text = "Debt notice: please pay 123.45 EUR by 15 December. " * 8
    message = claimed(text)
    with pytest.raises(PartCountError, match="the route allows at most 2"):
        submit_parts(message, options=SubmitOptions(max_parts=2))
    assert len(submit_parts(message, options=SubmitOptions(max_parts=message.parts))) > 2
    with pytest.raises(ValueError, match="max_parts"):
        SubmitOptions(max_parts=0)


@given(st.integers(0, 2**40))
def test_references_fit_their_width(message_id: int) -> None:
    assert 0 <= concatenation_reference(message_id, Concatenation.UDH8) < 256
    assert 0 <= concatenation_reference(message_id, Concatenation.UDH16) < 65536


def test_every_final_receipt_state_maps_and_only_delivrd_is_delivered() -> None:
    finals = {s for s in MessageState if s.final}
    assert set(PART_STATE) == finals
    delivered = [s for s, p in PART_STATE.items() if p is PartState.DELIVERED]
    assert delivered == [MessageState.DELIVERED]


def test_receipt_update_normalises_the_id_and_keeps_the_facts() -> None:
    receipt = Receipt(
        message_id="6699",
        state=MessageState.UNDELIVERABLE,
        error="012",
        done_date=datetime(2026, 11, 30, 12, 0),
    )
    # This SMSC answers submits in hex (1A2B) and writes receipts in decimal (6699).
    update = receipt_update("op", receipt, MessageIdPolicy.HEX_TO_DEC, 5.0)
    assert update is not None
    assert update.smsc == "op"
    assert update.smsc_message_id == response_id_key("1A2B", MessageIdPolicy.HEX_TO_DEC)
    assert update.state is PartState.UNDELIVERABLE
    assert update.error == "012"
    assert update.received_at == 5.0
    assert update.done_at == datetime.fromisoformat("2026-11-30T12:00:00+00:00").timestamp()


def test_intermediate_receipts_settle_nothing_and_are_noted() -> None:
    enroute = Receipt(message_id="1", state=MessageState.ENROUTE, intermediate=True)
    noted = receipt_update("op", enroute, MessageIdPolicy.AS_IS, 3.0)
    assert noted == ReceiptNoted("op", "1", "ENROUTE", 3.0)
    # A non-final state without the flag is an intermediate notification too.
    scheduled = Receipt(message_id="2", state=MessageState.SCHEDULED)
    assert isinstance(receipt_update("op", scheduled, MessageIdPolicy.AS_IS, 0.0), ReceiptNoted)


def test_receipt_id_outside_the_policy_is_a_typed_error() -> None:
    receipt = Receipt(message_id="not-a-number", state=MessageState.DELIVERED)
    with pytest.raises(MessageIdError):
        receipt_update("op", receipt, MessageIdPolicy.HEX_TO_DEC, 0.0)
