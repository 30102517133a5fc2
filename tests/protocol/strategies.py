"""Hypothesis strategies for valid PDUs, derived from each class's LAYOUT and tlv.KINDS."""

from __future__ import annotations

from dataclasses import fields

from hypothesis import strategies as st

from smpp_engine.protocol import layout as L
from smpp_engine.protocol.pdus import PDU_CLASSES, DistributionList, Pdu, SmeAddress, UnsuccessSme
from smpp_engine.protocol.tlv import KINDS, Kind, NetworkErrorCode, TlvValue

u8 = st.integers(0, 0xFF)
u32 = st.integers(0, 0xFFFFFFFF)
# Any Latin-1 character but NUL: what a C-octet string can carry.
_cchar = st.characters(min_codepoint=1, max_codepoint=0xFF)


def cstring(size: int, fixed: bool = False) -> st.SearchStrategy[str]:
    if fixed:
        return st.one_of(st.just(""), st.text(_cchar, min_size=size - 1, max_size=size - 1))
    return st.text(_cchar, max_size=size - 1)


_dest_addr = cstring(21)
sme_addresses = st.builds(SmeAddress, u8, u8, _dest_addr)
distribution_lists = st.builds(DistributionList, cstring(21))
unsuccess_smes = st.builds(UnsuccessSme, u8, u8, _dest_addr, u32)


def field_strategy(f: L.Field) -> st.SearchStrategy[object]:
    if isinstance(f, L.Int8):
        return u8
    if isinstance(f, L.CString):
        return cstring(f.size, f.fixed)
    if isinstance(f, L.ShortMessage):
        return st.binary(max_size=255)
    if isinstance(f, L.DestAddresses):
        return st.lists(st.one_of(sme_addresses, distribution_lists), max_size=8)
    return st.lists(unsuccess_smes, max_size=8)


def tlv_value(tag: int) -> st.SearchStrategy[TlvValue]:
    known = KINDS.get(tag)
    if known is None:
        return st.binary(max_size=40)
    kind, size = known
    if kind in (Kind.U8, Kind.U16, Kind.U32):
        width = kind.value
        assert isinstance(width, int)
        return st.integers(0, (1 << (8 * width)) - 1)
    if kind is Kind.CSTRING:
        return cstring(size)
    if kind is Kind.NETWORK_ERROR:
        return st.builds(NetworkErrorCode, u8, st.integers(0, 0xFFFF))
    return st.binary(max_size=min(size, 300))


known_tags = st.sampled_from(sorted(KINDS))
unknown_tags = st.integers(0, 0xFFFF).filter(lambda t: t not in KINDS)


@st.composite
def tlv_maps(draw: st.DrawFn, max_size: int = 4) -> dict[int, TlvValue]:
    tags = draw(st.lists(st.one_of(known_tags, unknown_tags), max_size=max_size, unique=True))
    return {tag: draw(tlv_value(tag)) for tag in tags}


@st.composite
def pdus_of(draw: st.DrawFn, cls: type[Pdu]) -> Pdu:
    kwargs: dict[str, object] = {
        "sequence_number": draw(st.integers(0, 0x7FFFFFFF)),
        "command_status": draw(st.one_of(st.just(0), u32)),
        "tlvs": draw(tlv_maps()),
    }
    for f in cls.LAYOUT:
        kwargs[f.name] = draw(field_strategy(f))
    return cls(**kwargs)


any_pdu = st.sampled_from(PDU_CLASSES).flatmap(pdus_of)


def expected_after_round_trip(pdu: Pdu) -> Pdu:
    """What decoding the encoded ``pdu`` must give: error responses lose their empty body."""
    if pdu.EMPTY_BODY_ON_ERROR and pdu.command_status and not pdu.tlvs:
        return type(pdu)(sequence_number=pdu.sequence_number, command_status=pdu.command_status)
    return pdu


def field_names(cls: type[Pdu]) -> list[str]:
    return [f.name for f in fields(cls)]
