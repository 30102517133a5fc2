"""Optional parameters (TLVs): the tags of SMPP 3.4 and 5.0 with typed values.

A PDU keeps its TLVs in a ``dict`` from tag to value, in wire order. Known tags
decode to ``int`` (fixed-width integers), ``str`` (C-octet strings),
``NetworkErrorCode`` or ``bytes`` (octet strings); any other tag is kept as its
raw ``bytes`` and written back byte for byte, because vendor TLVs are data.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Callable, Mapping
from typing import NamedTuple

from .errors import PduError
from .status import CommandStatus


class Tag(enum.IntEnum):
    dest_addr_subunit = 0x0005
    dest_network_type = 0x0006
    dest_bearer_type = 0x0007
    dest_telematics_id = 0x0008
    source_addr_subunit = 0x000D
    source_network_type = 0x000E
    source_bearer_type = 0x000F
    source_telematics_id = 0x0010
    qos_time_to_live = 0x0017
    payload_type = 0x0019
    additional_status_info_text = 0x001D
    receipted_message_id = 0x001E
    ms_msg_wait_facilities = 0x0030
    privacy_indicator = 0x0201
    source_subaddress = 0x0202
    dest_subaddress = 0x0203
    user_message_reference = 0x0204
    user_response_code = 0x0205
    source_port = 0x020A
    destination_port = 0x020B  # "dest_port" in SMPP 5.0
    sar_msg_ref_num = 0x020C
    language_indicator = 0x020D
    sar_total_segments = 0x020E
    sar_segment_seqnum = 0x020F
    sc_interface_version = 0x0210
    callback_num_pres_ind = 0x0302
    callback_num_atag = 0x0303
    number_of_messages = 0x0304
    callback_num = 0x0381
    dpf_result = 0x0420
    set_dpf = 0x0421
    ms_availability_status = 0x0422
    network_error_code = 0x0423
    message_payload = 0x0424
    delivery_failure_reason = 0x0425
    more_messages_to_send = 0x0426
    message_state = 0x0427
    congestion_state = 0x0428  # 5.0
    ussd_service_op = 0x0501
    broadcast_channel_indicator = 0x0600  # 5.0 broadcast_* below
    broadcast_content_type = 0x0601
    broadcast_content_type_info = 0x0602
    broadcast_message_class = 0x0603
    broadcast_rep_num = 0x0604
    broadcast_frequency_interval = 0x0605
    broadcast_area_identifier = 0x0606
    broadcast_error_status = 0x0607
    broadcast_area_success = 0x0608
    broadcast_end_time = 0x0609
    broadcast_service_group = 0x060A
    billing_identification = 0x060B
    source_network_id = 0x060D
    dest_network_id = 0x060E
    source_node_id = 0x060F
    dest_node_id = 0x0610
    dest_addr_np_resolution = 0x0611
    dest_addr_np_information = 0x0612
    dest_addr_np_country = 0x0613
    display_time = 0x1201
    sms_signal = 0x1203
    ms_validity = 0x1204
    alert_on_message_delivery = 0x130C
    its_reply_type = 0x1380
    its_session_info = 0x1383


class NetworkErrorCode(NamedTuple):
    """network_error_code (0x0423): the network type (1 ANSI-136, 2 IS-95, 3 GSM, ...)
    and that network's own error code."""

    network_type: int
    error_code: int


TlvValue = int | str | bytes | NetworkErrorCode
Tlvs = dict[int, TlvValue]


class Kind(enum.Enum):
    """How a TLV value is laid out on the wire."""

    U8 = 1
    U16 = 2
    U32 = 4
    CSTRING = "cstring"
    OCTETS = "octets"
    NETWORK_ERROR = "network_error"


_T = Tag
#: Wire layout of each known tag, and for C-octet strings the spec's maximum size
#: including the NUL.
KINDS: dict[int, tuple[Kind, int]] = {
    _T.dest_addr_subunit: (Kind.U8, 1),
    _T.dest_network_type: (Kind.U8, 1),
    _T.dest_bearer_type: (Kind.U8, 1),
    _T.dest_telematics_id: (Kind.U16, 2),
    _T.source_addr_subunit: (Kind.U8, 1),
    _T.source_network_type: (Kind.U8, 1),
    _T.source_bearer_type: (Kind.U8, 1),
    _T.source_telematics_id: (Kind.U8, 1),
    _T.qos_time_to_live: (Kind.U32, 4),
    _T.payload_type: (Kind.U8, 1),
    _T.additional_status_info_text: (Kind.CSTRING, 256),
    _T.receipted_message_id: (Kind.CSTRING, 65),
    _T.ms_msg_wait_facilities: (Kind.U8, 1),
    _T.privacy_indicator: (Kind.U8, 1),
    _T.source_subaddress: (Kind.OCTETS, 23),
    _T.dest_subaddress: (Kind.OCTETS, 23),
    _T.user_message_reference: (Kind.U16, 2),
    _T.user_response_code: (Kind.U8, 1),
    _T.source_port: (Kind.U16, 2),
    _T.destination_port: (Kind.U16, 2),
    _T.sar_msg_ref_num: (Kind.U16, 2),
    _T.language_indicator: (Kind.U8, 1),
    _T.sar_total_segments: (Kind.U8, 1),
    _T.sar_segment_seqnum: (Kind.U8, 1),
    _T.sc_interface_version: (Kind.U8, 1),
    _T.callback_num_pres_ind: (Kind.U8, 1),
    _T.callback_num_atag: (Kind.OCTETS, 65),
    _T.number_of_messages: (Kind.U8, 1),
    _T.callback_num: (Kind.OCTETS, 19),
    _T.dpf_result: (Kind.U8, 1),
    _T.set_dpf: (Kind.U8, 1),
    _T.ms_availability_status: (Kind.U8, 1),
    _T.network_error_code: (Kind.NETWORK_ERROR, 3),
    _T.message_payload: (Kind.OCTETS, 0xFFFF),
    _T.delivery_failure_reason: (Kind.U8, 1),
    _T.more_messages_to_send: (Kind.U8, 1),
    _T.message_state: (Kind.U8, 1),
    _T.congestion_state: (Kind.U8, 1),
    _T.ussd_service_op: (Kind.U8, 1),
    _T.broadcast_channel_indicator: (Kind.U8, 1),
    _T.broadcast_content_type: (Kind.OCTETS, 3),
    _T.broadcast_content_type_info: (Kind.OCTETS, 255),
    _T.broadcast_message_class: (Kind.U8, 1),
    _T.broadcast_rep_num: (Kind.U16, 2),
    _T.broadcast_frequency_interval: (Kind.OCTETS, 3),
    _T.broadcast_area_identifier: (Kind.OCTETS, 0xFFFF),
    _T.broadcast_error_status: (Kind.U32, 4),
    _T.broadcast_area_success: (Kind.U8, 1),
    _T.broadcast_end_time: (Kind.CSTRING, 17),
    _T.broadcast_service_group: (Kind.OCTETS, 255),
    _T.billing_identification: (Kind.OCTETS, 1024),
    _T.source_network_id: (Kind.CSTRING, 65),
    _T.dest_network_id: (Kind.CSTRING, 65),
    _T.source_node_id: (Kind.OCTETS, 6),
    _T.dest_node_id: (Kind.OCTETS, 6),
    _T.dest_addr_np_resolution: (Kind.U8, 1),
    _T.dest_addr_np_information: (Kind.OCTETS, 10),
    _T.dest_addr_np_country: (Kind.OCTETS, 5),
    _T.display_time: (Kind.U8, 1),
    _T.sms_signal: (Kind.U16, 2),
    _T.ms_validity: (Kind.OCTETS, 4),  # 1 octet in 3.4, up to 4 in 5.0
    _T.alert_on_message_delivery: (Kind.OCTETS, 1),  # empty in 3.4, 0-1 octet in 5.0
    _T.its_reply_type: (Kind.U8, 1),
    _T.its_session_info: (Kind.OCTETS, 2),
}

_BY_VALUE: dict[int, Tag] = {t.value: t for t in Tag}
_HEAD = struct.Struct(">HH")
_NET_ERR = struct.Struct(">BH")


def tag_name(tag: int) -> str:
    """The spec name of ``tag``, or ``0x1400`` style hex for an unknown one."""
    known = _BY_VALUE.get(tag)
    return known.name if known is not None else f"0x{tag:04X}"


def tag_from_name(name: str) -> int:
    """Inverse of :func:`tag_name`; raises :class:`PduError` for an unknown name."""
    if name in Tag.__members__:
        return Tag[name].value
    try:
        return int(name, 16) if name.lower().startswith("0x") else int(name)
    except ValueError:
        raise PduError(
            "unknown TLV name",
            status=CommandStatus.ESME_RINVOPTPARSTREAM,
            field="tlvs",
            value=name,
        ) from None


def decode_tlvs(data: bytes, pos: int, end: int) -> Tlvs:
    """Decode the TLVs in ``data[pos:end]``; raises :class:`PduError` on a bad stream.

    ``end`` must be ``len(data)``: a header cut short then fails inside
    ``unpack_from``, which is cheaper than checking before every TLV.
    """
    tlvs: Tlvs = {}
    decoders = _DECODERS
    fast_kinds = _FAST_KINDS
    unpack_head = _HEAD.unpack_from
    try:
        while pos < end:
            tag, length = unpack_head(data, pos)
            pos += 4
            stop = pos + length
            if stop > end:
                raise PduError(
                    f"TLV length {length} runs past the end of the PDU",
                    status=CommandStatus.ESME_RINVOPTPARSTREAM,
                    field=tag_name(tag),
                    value=length,
                )
            fast = fast_kinds.get(tag)
            if fast == 1 and length == 1:  # the commonest kinds inline, without a call
                tlvs[tag] = data[pos]
            elif fast is None:  # a tag we do not know: kept raw
                tlvs[tag] = data[pos:stop]
            elif fast < 0 and length <= -fast:
                # Some SMSCs omit the NUL of string TLVs; the length delimits the value.
                nul = data.find(b"\x00", pos, stop)
                tlvs[tag] = data[pos : stop if nul < 0 else nul].decode("latin-1")
            else:
                value = decoders[tag](data[pos:stop])
                if value is None:
                    raise PduError(
                        f"invalid length {length} for TLV",
                        status=CommandStatus.ESME_RINVPARLEN,
                        field=tag_name(tag),
                        value=data[pos:stop].hex(),
                    )
                tlvs[tag] = value
            pos = stop
    except struct.error:
        raise PduError(
            "truncated TLV header",
            status=CommandStatus.ESME_RINVOPTPARSTREAM,
            field="tlvs",
            value=data[pos:end].hex(),
        ) from None
    return tlvs


def _value_decoder(kind: Kind, size: int) -> Callable[[bytes], TlvValue | None]:
    """A function from a TLV's value octets to its typed value, or None if the length is wrong."""
    if kind in (Kind.U8, Kind.U16, Kind.U32):
        width = kind.value
        return lambda raw: int.from_bytes(raw, "big") if len(raw) == width else None
    if kind is Kind.CSTRING:
        return lambda raw: None  # reached only when too long: decode_tlvs inlines the rest
    if kind is Kind.NETWORK_ERROR:
        return lambda raw: NetworkErrorCode(raw[0], raw[1] << 8 | raw[2]) if len(raw) == 3 else None
    return lambda raw: raw if len(raw) <= size else None


_DECODERS: dict[int, Callable[[bytes], TlvValue | None]] = {
    tag: _value_decoder(kind, size) for tag, (kind, size) in KINDS.items()
}
#: Per known tag, what decode_tlvs handles inline: 1 for one-octet integers, minus
#: the maximum size for C-octet strings, 0 for the rest (decoded by _DECODERS).
_FAST_KINDS: dict[int, int] = {
    tag: 1 if kind is Kind.U8 else -size if kind is Kind.CSTRING else 0
    for tag, (kind, size) in KINDS.items()
}


def encode_tlvs(tlvs: Mapping[int, TlvValue]) -> bytes:
    """The wire form of ``tlvs``, in their order; raises :class:`PduError` on bad values."""
    out = []
    fast_encoders = _FAST_ENCODERS
    for tag, value in tlvs.items():
        fast = fast_encoders.get(tag)
        wire = fast(value) if fast is not None else None
        if wire is None:  # unknown tag, unusual value type, or an error to report
            raw = encode_tlv_value(tag, value)
            wire = _HEAD.pack(tag, len(raw)) + raw
        out.append(wire)
    return b"".join(out)


def _fast_encoder(tag: int, kind: Kind, size: int) -> Callable[[TlvValue], bytes | None]:
    """Tag, length and value in one go for the plain cases; None sends the value to
    :func:`encode_tlv_value`, which handles the rest and names errors."""
    if kind in (Kind.U8, Kind.U16, Kind.U32):
        width = kind.value
        assert isinstance(width, int)
        head = _HEAD.pack(tag, width)
        limit = 1 << (8 * width)

        def integer(value: TlvValue) -> bytes | None:
            # bool is an int too, but never a valid TLV value: the slow path refuses it.
            if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < limit:
                return head + value.to_bytes(width, "big")
            return None

        return integer
    if kind is Kind.CSTRING:

        def cstring(value: TlvValue) -> bytes | None:
            if isinstance(value, str) and len(value) < size and value.isascii():
                raw = value.encode("ascii") + b"\x00"
                if b"\x00" not in raw[:-1]:
                    return _HEAD.pack(tag, len(raw)) + raw
            return None

        return cstring
    if kind is Kind.OCTETS:

        def octets(value: TlvValue) -> bytes | None:
            if isinstance(value, bytes) and len(value) <= size:
                return _HEAD.pack(tag, len(value)) + value
            return None

        return octets
    return lambda value: None


_FAST_ENCODERS: dict[int, Callable[[TlvValue], bytes | None]] = {
    tag: _fast_encoder(tag, kind, size) for tag, (kind, size) in KINDS.items()
}


def encode_tlv_value(tag: int, value: TlvValue) -> bytes:
    """The value octets of one TLV (without tag and length)."""
    known = KINDS.get(tag)
    if not 0 <= tag <= 0xFFFF:
        raise PduError(
            "TLV tag out of range",
            status=CommandStatus.ESME_RINVOPTPARSTREAM,
            field="tlvs",
            value=tag,
        )
    if known is None:
        if isinstance(value, bytes | bytearray) and len(value) <= 0xFFFF:
            return bytes(value)
        raise _bad_value(tag, value, "an unknown TLV needs raw bytes of at most 65535 octets")
    kind, size = known
    if kind in (Kind.U8, Kind.U16, Kind.U32):
        width = kind.value
        assert isinstance(width, int)
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 1 << (8 * width):
            return value.to_bytes(width, "big")
        raise _bad_value(tag, value, f"expected an integer of {width} octet(s)")
    if kind is Kind.CSTRING:
        if isinstance(value, str):
            try:
                raw = value.encode("latin-1") + b"\x00"
            except UnicodeEncodeError:
                raise _bad_value(tag, value, "C-octet string must be ASCII/Latin-1") from None
            if len(raw) <= size and b"\x00" not in raw[:-1]:
                return raw
        raise _bad_value(tag, value, f"expected a string of at most {size - 1} characters")
    if kind is Kind.NETWORK_ERROR:
        if (
            isinstance(value, tuple)
            and len(value) == 2
            and 0 <= value[0] <= 0xFF
            and 0 <= value[1] <= 0xFFFF
        ):
            return _NET_ERR.pack(value[0], value[1])
        raise _bad_value(tag, value, "expected NetworkErrorCode(network_type, error_code)")
    if isinstance(value, bytes | bytearray) and len(value) <= size:
        return bytes(value)
    raise _bad_value(tag, value, f"expected at most {size} octets")


def _bad_value(tag: int, value: object, why: str) -> PduError:
    return PduError(
        f"invalid TLV value: {why}",
        status=CommandStatus.ESME_RINVOPTPARAMVAL,
        field=tag_name(tag),
        value=value,
    )
