"""Differential tests against smpplib, an SMPP stack this team did not write.

Both directions, for every PDU smpplib supports: our bytes parsed by smpplib give
the same fields, and smpplib's bytes decoded here give the same fields.
"""

from __future__ import annotations

import pytest
import smpplib.command
import smpplib.smpp
from hypothesis import given
from hypothesis import strategies as st

from smpp_engine.protocol import Pdu, decode_pdu, encode_pdu
from smpp_engine.protocol import layout as L
from smpp_engine.protocol.pdus import BY_COMMAND_ID, CommandId
from smpp_engine.protocol.tlv import KINDS, Kind, Tag, TlvValue

from .strategies import field_strategy, tlv_value

SMPPLIB_COMMANDS = [
    "bind_transmitter",
    "bind_transmitter_resp",
    "bind_receiver",
    "bind_receiver_resp",
    "bind_transceiver",
    "bind_transceiver_resp",
    "data_sm",
    "data_sm_resp",
    "generic_nack",
    "submit_sm",
    "submit_sm_resp",
    "deliver_sm",
    "deliver_sm_resp",
    "query_sm",
    "query_sm_resp",
    "unbind",
    "unbind_resp",
    "enquire_link",
    "enquire_link_resp",
    "alert_notification",
]

# smpplib declares these with sizes or types that differ from the spec (e.g.
# source_addr_subunit as two octets), so they cannot be compared.
_SMPPLIB_DEVIATIONS = {
    "source_addr_subunit",
    "its_session_info",
    "source_subaddress",
    "dest_subaddress",
    "alert_on_message_delivery",
    "callback_num",
}


def _smpplib_class(command: str) -> type[smpplib.command.Command]:
    return type(smpplib.command.factory(command, sequence=1))


def _comparable_tlvs(command: str) -> list[int]:
    """TLVs smpplib knows for ``command`` with the spec's width."""
    params = _smpplib_class(command).params
    # smpplib keeps TLVs and mandatory fields in one namespace: query_sm_resp's
    # message_state field and the message_state TLV would overwrite each other.
    mandatory = {f.name for f in BY_COMMAND_ID[CommandId[command]].LAYOUT}
    tags = []
    for name, param in params.items():
        if name not in Tag.__members__ or name in _SMPPLIB_DEVIATIONS or name in mandatory:
            continue
        kind, _ = KINDS[Tag[name]]
        same_int = param.type is int and kind.value == getattr(param, "size", None)
        same_string = param.type is str and kind is Kind.CSTRING
        same_octets = param.type is smpplib.command.ostr and kind is Kind.OCTETS
        if same_int or same_string or same_octets:
            tags.append(Tag[name].value)
    return tags


def _smpplib_value(value: object) -> object:
    return value.encode("latin-1") if isinstance(value, str) else value


@st.composite
def comparable_pdus(draw: st.DrawFn, command: str) -> Pdu:
    cls = BY_COMMAND_ID[CommandId[command]]
    kwargs: dict[str, object] = {"sequence_number": draw(st.integers(1, 0x7FFFFFFF))}
    params = _smpplib_class(command).params
    for f in cls.LAYOUT:
        strategy_field = f
        if isinstance(f, L.CString) and f.name in params:
            # smpplib truncates some strings below the spec (data_sm addresses at 20).
            strategy_field = f._replace(size=min(f.size, getattr(params[f.name], "max", f.size)))
        value = draw(field_strategy(strategy_field))
        if command == "query_sm" and f.name == "message_id" and not value:
            value = "1"  # smpplib refuses to build a query_sm without one
        kwargs[f.name] = value
    tags = draw(
        st.lists(st.sampled_from(_comparable_tlvs(command) or [0]), unique=True, max_size=4)
    )
    tlvs: dict[int, TlvValue] = {}
    for tag in tags:
        if tag in KINDS:
            value = draw(tlv_value(tag))
            # smpplib writes no TLV for an empty string or octet string, and computes a
            # string TLV's length in characters but writes UTF-8: only ASCII survives.
            if value in ("", b"") or (isinstance(value, str) and not value.isascii()):
                continue
            tlvs[tag] = value
    kwargs["tlvs"] = tlvs
    if Tag.message_payload in tlvs and "short_message" in kwargs:
        kwargs["short_message"] = b""  # the spec forbids both at once; smpplib refuses it
    return cls(**kwargs)


@pytest.mark.parametrize("command", SMPPLIB_COMMANDS)
@given(data=st.data())
def test_our_bytes_parsed_by_smpplib_give_the_same_fields(
    command: str, data: st.DataObject
) -> None:
    pdu = data.draw(comparable_pdus(command))
    theirs = smpplib.smpp.parse_pdu(encode_pdu(pdu), sequence=0)  # parse() sets the real one
    assert theirs.command == command
    assert theirs.sequence == pdu.sequence_number
    assert theirs.status == pdu.command_status
    for f in pdu.LAYOUT:
        ours = getattr(pdu, f.name)
        got = getattr(theirs, f.name, None)
        if got is None and ours in ("", b""):
            continue  # smpplib leaves empty trailing fields unset
        assert got == _smpplib_value(ours), f.name
    for tag, value in pdu.tlvs.items():
        assert getattr(theirs, Tag(tag).name) == _smpplib_value(value), Tag(tag).name


@pytest.mark.parametrize("command", SMPPLIB_COMMANDS)
@given(data=st.data())
def test_smpplib_bytes_decoded_here_give_the_same_fields(command: str, data: st.DataObject) -> None:
    model = data.draw(comparable_pdus(command))
    theirs = smpplib.smpp.make_pdu(command, sequence=model.sequence_number)
    # Set fields after construction: smpplib's constructors overwrite some
    # (interface_version) and ignore the sequence for others.
    theirs.sequence = model.sequence_number
    for f in model.LAYOUT:
        setattr(theirs, f.name, getattr(model, f.name))
    for tag, value in model.tlvs.items():
        setattr(theirs, Tag(tag).name, value)
    ours = decode_pdu(theirs.generate())
    assert ours == model
