"""The JSON form of PDUs that operators read and write."""

from __future__ import annotations

import json

import pytest
from hypothesis import given

from smpp_engine.protocol import (
    DEFAULT_PROFILE,
    CommandStatus,
    EsmClass,
    NetworkErrorCode,
    Pdu,
    PduError,
    SubmitSm,
    SubmitSmResp,
    Tag,
    encode_text,
    split_text,
)
from smpp_engine.protocol.pdu_json import pdu_from_dict, pdu_to_dict

from .strategies import any_pdu


@given(any_pdu)
def test_every_pdu_survives_json(pdu: Pdu) -> None:
    text = json.dumps(pdu_to_dict(pdu))
    assert pdu_from_dict(json.loads(text)) == pdu


def test_fields_and_tlvs_appear_by_spec_name() -> None:
    pdu = SubmitSm(
        sequence_number=4,
        source_addr="ACME",
        short_message=b"Hi",
        tlvs={
            Tag.user_message_reference: 7,
            Tag.network_error_code: NetworkErrorCode(3, 11),
            0x1401: b"\x00\xff",
        },
    )
    out = pdu_to_dict(pdu)
    assert out["command"] == "submit_sm"
    assert out["command_status"] == "ESME_ROK"
    assert out["source_addr"] == "ACME"
    assert out["short_message"] == {"hex": "4869", "text": "Hi"}
    assert out["tlvs"] == {
        "user_message_reference": 7,
        "network_error_code": {"network_type": 3, "error_code": 11},
        "0x1401": {"hex": "00ff"},
    }


def test_input_accepts_status_names_hex_integers_and_plain_text() -> None:
    pdu = pdu_from_dict(
        {
            "command": "submit_sm_resp",
            "sequence_number": "0x10",
            "command_status": "ESME_RTHROTTLED",
            "message_id": "abc",
        }
    )
    assert pdu == SubmitSmResp(
        sequence_number=16, command_status=CommandStatus.ESME_RTHROTTLED, message_id="abc"
    )
    sm = pdu_from_dict(
        {"command": "submit_sm", "short_message": "Hello", "tlvs": {"message_payload": "x"}}
    )
    assert isinstance(sm, SubmitSm)
    assert sm.short_message == b"Hello"
    assert sm.tlvs == {Tag.message_payload: b"x"}


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"command": "submit_smm"}, "command"),
        ({"command": "submit_sm", "colour": 1}, "colour"),
        ({"command": "submit_sm", "esm_class": "forty"}, "esm_class"),
        ({"command": "submit_sm", "short_message": {"hex": "zz"}}, "short_message"),
        ({"command": "submit_sm", "short_message": "Привет"}, "short_message"),
        ({"command": "submit_sm", "tlvs": {"no_such_tag": 1}}, "tlvs"),
        ({"command": "submit_sm", "tlvs": []}, "tlvs"),
        ({"command": "submit_sm", "source_addr": 12}, "source_addr"),
    ],
)
def test_bad_input_names_the_key(data: dict[str, object], field: str) -> None:
    with pytest.raises(PduError) as info:
        pdu_from_dict(data)
    assert info.value.field == field


def test_user_data_is_shown_as_the_handset_would_display_it() -> None:
    gsm = SubmitSm(short_message=encode_text("€5 ¿ñ", 0))
    assert pdu_to_dict(gsm)["short_message"] == {"hex": "1b653520607d", "text": "€5 ¿ñ"}
    first = split_text("Привет! " * 20, DEFAULT_PROFILE, reference=9)[0]
    ucs2 = SubmitSm(esm_class=EsmClass.UDHI, data_coding=8, short_message=first.short_message)
    shown = pdu_to_dict(ucs2)["short_message"]
    assert shown["hex"].startswith("050003090301")
    assert shown["text"] == ("Привет! " * 20)[:67]
    payload = SubmitSm(data_coding=8, tlvs={Tag.message_payload: "Ж".encode("utf-16-be")})
    assert pdu_to_dict(payload)["tlvs"]["message_payload"]["text"] == "Ж"
    # On input the hex wins: the text is for reading only.
    assert pdu_from_dict(pdu_to_dict(ucs2)) == ucs2
