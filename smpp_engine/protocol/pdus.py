"""Every SMPP 3.4 PDU as a typed dataclass with the spec's field names.

C-octet strings are ``str`` (ASCII/Latin-1 on the wire), integers are ``int``,
short_message is ``bytes`` (its meaning depends on data_coding: see ``coding``),
and every PDU carries its optional parameters in ``tlvs`` (see ``tlv``).
The wire layout of each body is declared in ``LAYOUT`` and compiled by ``codec``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import ClassVar, NamedTuple

from . import layout as L
from .tlv import Tlvs


class CommandId(enum.IntEnum):
    generic_nack = 0x80000000
    bind_receiver = 0x00000001
    bind_receiver_resp = 0x80000001
    bind_transmitter = 0x00000002
    bind_transmitter_resp = 0x80000002
    query_sm = 0x00000003
    query_sm_resp = 0x80000003
    submit_sm = 0x00000004
    submit_sm_resp = 0x80000004
    deliver_sm = 0x00000005
    deliver_sm_resp = 0x80000005
    unbind = 0x00000006
    unbind_resp = 0x80000006
    replace_sm = 0x00000007
    replace_sm_resp = 0x80000007
    cancel_sm = 0x00000008
    cancel_sm_resp = 0x80000008
    bind_transceiver = 0x00000009
    bind_transceiver_resp = 0x80000009
    outbind = 0x0000000B
    enquire_link = 0x00000015
    enquire_link_resp = 0x80000015
    submit_multi = 0x00000021
    submit_multi_resp = 0x80000021
    alert_notification = 0x00000102
    data_sm = 0x00000103
    data_sm_resp = 0x80000103


RESPONSE_BIT = 0x80000000


class Ton(enum.IntEnum):
    """Type of number (spec 5.2.5)."""

    UNKNOWN = 0
    INTERNATIONAL = 1
    NATIONAL = 2
    NETWORK_SPECIFIC = 3
    SUBSCRIBER_NUMBER = 4
    ALPHANUMERIC = 5
    ABBREVIATED = 6


class Npi(enum.IntEnum):
    """Numbering plan indicator (spec 5.2.6)."""

    UNKNOWN = 0
    ISDN = 1
    DATA = 3
    TELEX = 4
    LAND_MOBILE = 6
    NATIONAL = 8
    PRIVATE = 9
    ERMES = 10
    INTERNET = 14
    WAP_CLIENT_ID = 18


class EsmClass(enum.IntFlag):
    """The esm_class bits the engine acts on (spec 5.2.12)."""

    DELIVERY_RECEIPT = 0x04
    INTERMEDIATE_NOTIFICATION = 0x20
    UDHI = 0x40
    REPLY_PATH = 0x80


@dataclass(slots=True, kw_only=True)
class Pdu:
    """Common header fields; ``command_id`` is fixed by the subclass."""

    command_id: ClassVar[int]
    LAYOUT: ClassVar[tuple[L.Field, ...]] = ()
    #: The response class of a request, None for a response.
    RESPONSE: ClassVar[type[Pdu] | None] = None
    #: Responses whose body the spec omits when command_status is not ESME_ROK.
    EMPTY_BODY_ON_ERROR: ClassVar[bool] = False

    sequence_number: int = 0
    command_status: int = 0
    tlvs: Tlvs = field(default_factory=dict)

    @property
    def command_name(self) -> str:
        return CommandId(self.command_id).name

    @property
    def is_response(self) -> bool:
        return bool(self.command_id & RESPONSE_BIT)


# --- session management -----------------------------------------------------------


@dataclass(slots=True, kw_only=True)
class _Bind(Pdu):
    LAYOUT = L.BIND
    system_id: str = ""
    password: str = ""
    system_type: str = ""
    interface_version: int = 0x34
    addr_ton: int = 0
    addr_npi: int = 0
    address_range: str = ""


@dataclass(slots=True, kw_only=True)
class _BindResp(Pdu):
    LAYOUT = L.BIND_RESP
    EMPTY_BODY_ON_ERROR = True
    system_id: str = ""


@dataclass(slots=True, kw_only=True)
class BindTransmitter(_Bind):
    command_id = CommandId.bind_transmitter


@dataclass(slots=True, kw_only=True)
class BindTransmitterResp(_BindResp):
    command_id = CommandId.bind_transmitter_resp


@dataclass(slots=True, kw_only=True)
class BindReceiver(_Bind):
    command_id = CommandId.bind_receiver


@dataclass(slots=True, kw_only=True)
class BindReceiverResp(_BindResp):
    command_id = CommandId.bind_receiver_resp


@dataclass(slots=True, kw_only=True)
class BindTransceiver(_Bind):
    command_id = CommandId.bind_transceiver


@dataclass(slots=True, kw_only=True)
class BindTransceiverResp(_BindResp):
    command_id = CommandId.bind_transceiver_resp


@dataclass(slots=True, kw_only=True)
class Outbind(Pdu):
    command_id = CommandId.outbind
    LAYOUT = (L.SYSTEM_ID, L.PASSWORD)
    system_id: str = ""
    password: str = ""


@dataclass(slots=True, kw_only=True)
class Unbind(Pdu):
    command_id = CommandId.unbind


@dataclass(slots=True, kw_only=True)
class UnbindResp(Pdu):
    command_id = CommandId.unbind_resp


@dataclass(slots=True, kw_only=True)
class EnquireLink(Pdu):
    command_id = CommandId.enquire_link


@dataclass(slots=True, kw_only=True)
class EnquireLinkResp(Pdu):
    command_id = CommandId.enquire_link_resp


@dataclass(slots=True, kw_only=True)
class GenericNack(Pdu):
    command_id = CommandId.generic_nack


# --- message submission and delivery -----------------------------------------------


@dataclass(slots=True, kw_only=True)
class _ShortMessagePdu(Pdu):
    """The body submit_sm and deliver_sm share (deliver_sm leaves some fields unused)."""

    LAYOUT = L.SM
    service_type: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    destination_addr: str = ""
    esm_class: int = 0
    protocol_id: int = 0
    priority_flag: int = 0
    schedule_delivery_time: str = ""
    validity_period: str = ""
    registered_delivery: int = 0
    replace_if_present_flag: int = 0
    data_coding: int = 0
    sm_default_msg_id: int = 0
    short_message: bytes = b""


@dataclass(slots=True, kw_only=True)
class _MessageIdResp(Pdu):
    LAYOUT = (L.MESSAGE_ID,)
    message_id: str = ""


@dataclass(slots=True, kw_only=True)
class SubmitSm(_ShortMessagePdu):
    command_id = CommandId.submit_sm


@dataclass(slots=True, kw_only=True)
class SubmitSmResp(_MessageIdResp):
    command_id = CommandId.submit_sm_resp
    EMPTY_BODY_ON_ERROR = True


@dataclass(slots=True, kw_only=True)
class DeliverSm(_ShortMessagePdu):
    command_id = CommandId.deliver_sm


@dataclass(slots=True, kw_only=True)
class DeliverSmResp(_MessageIdResp):
    """message_id is unused and always sent empty: the body is one NUL octet."""

    command_id = CommandId.deliver_sm_resp


@dataclass(slots=True, kw_only=True)
class DataSm(Pdu):
    command_id = CommandId.data_sm
    LAYOUT = (
        L.SERVICE_TYPE,
        L.SOURCE_ADDR_TON,
        L.SOURCE_ADDR_NPI,
        L.SOURCE_ADDR_65,
        L.DEST_ADDR_TON,
        L.DEST_ADDR_NPI,
        L.DESTINATION_ADDR_65,
        L.ESM_CLASS,
        L.REGISTERED_DELIVERY,
        L.DATA_CODING,
    )
    service_type: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    destination_addr: str = ""
    esm_class: int = 0
    registered_delivery: int = 0
    data_coding: int = 0


@dataclass(slots=True, kw_only=True)
class DataSmResp(_MessageIdResp):
    command_id = CommandId.data_sm_resp


class SmeAddress(NamedTuple):
    """One destination of submit_multi given as an address (dest_flag 1)."""

    dest_addr_ton: int
    dest_addr_npi: int
    destination_addr: str


class DistributionList(NamedTuple):
    """One destination of submit_multi given as a distribution list name (dest_flag 2)."""

    dl_name: str


class UnsuccessSme(NamedTuple):
    """A destination submit_multi could not reach, and why."""

    dest_addr_ton: int
    dest_addr_npi: int
    destination_addr: str
    error_status_code: int


@dataclass(slots=True, kw_only=True)
class SubmitMulti(Pdu):
    command_id = CommandId.submit_multi
    LAYOUT = (
        L.SERVICE_TYPE,
        L.SOURCE_ADDR_TON,
        L.SOURCE_ADDR_NPI,
        L.SOURCE_ADDR_21,
        L.DestAddresses(),
        *L.SM[7:],
    )
    service_type: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    dest_addresses: list[SmeAddress | DistributionList] = field(default_factory=list)
    esm_class: int = 0
    protocol_id: int = 0
    priority_flag: int = 0
    schedule_delivery_time: str = ""
    validity_period: str = ""
    registered_delivery: int = 0
    replace_if_present_flag: int = 0
    data_coding: int = 0
    sm_default_msg_id: int = 0
    short_message: bytes = b""


@dataclass(slots=True, kw_only=True)
class SubmitMultiResp(Pdu):
    command_id = CommandId.submit_multi_resp
    LAYOUT = (L.MESSAGE_ID, L.UnsuccessSmes())
    message_id: str = ""
    unsuccess_smes: list[UnsuccessSme] = field(default_factory=list)


# --- ancillary operations ----------------------------------------------------------


@dataclass(slots=True, kw_only=True)
class QuerySm(Pdu):
    command_id = CommandId.query_sm
    LAYOUT = (L.MESSAGE_ID, L.SOURCE_ADDR_TON, L.SOURCE_ADDR_NPI, L.SOURCE_ADDR_21)
    message_id: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""


@dataclass(slots=True, kw_only=True)
class QuerySmResp(Pdu):
    command_id = CommandId.query_sm_resp
    EMPTY_BODY_ON_ERROR = True
    LAYOUT = (
        L.MESSAGE_ID,
        L.CString("final_date", 17, fixed=True),
        L.Int8("message_state"),
        L.Int8("error_code"),
    )
    message_id: str = ""
    final_date: str = ""
    message_state: int = 0
    error_code: int = 0


@dataclass(slots=True, kw_only=True)
class CancelSm(Pdu):
    command_id = CommandId.cancel_sm
    LAYOUT = (
        L.SERVICE_TYPE,
        L.MESSAGE_ID,
        L.SOURCE_ADDR_TON,
        L.SOURCE_ADDR_NPI,
        L.SOURCE_ADDR_21,
        L.DEST_ADDR_TON,
        L.DEST_ADDR_NPI,
        L.DESTINATION_ADDR_21,
    )
    service_type: str = ""
    message_id: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    destination_addr: str = ""


@dataclass(slots=True, kw_only=True)
class CancelSmResp(Pdu):
    command_id = CommandId.cancel_sm_resp


@dataclass(slots=True, kw_only=True)
class ReplaceSm(Pdu):
    command_id = CommandId.replace_sm
    LAYOUT = (
        L.MESSAGE_ID,
        L.SOURCE_ADDR_TON,
        L.SOURCE_ADDR_NPI,
        L.SOURCE_ADDR_21,
        L.SCHEDULE_DELIVERY_TIME,
        L.VALIDITY_PERIOD,
        L.REGISTERED_DELIVERY,
        L.SM_DEFAULT_MSG_ID,
        L.ShortMessage(),
    )
    message_id: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    schedule_delivery_time: str = ""
    validity_period: str = ""
    registered_delivery: int = 0
    sm_default_msg_id: int = 0
    short_message: bytes = b""


@dataclass(slots=True, kw_only=True)
class ReplaceSmResp(Pdu):
    command_id = CommandId.replace_sm_resp


@dataclass(slots=True, kw_only=True)
class AlertNotification(Pdu):
    command_id = CommandId.alert_notification
    LAYOUT = (
        L.SOURCE_ADDR_TON,
        L.SOURCE_ADDR_NPI,
        L.SOURCE_ADDR_65,
        L.Int8("esme_addr_ton"),
        L.Int8("esme_addr_npi"),
        L.CString("esme_addr", 65),
    )
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    esme_addr_ton: int = 0
    esme_addr_npi: int = 0
    esme_addr: str = ""


PDU_CLASSES: tuple[type[Pdu], ...] = (
    GenericNack,
    BindReceiver,
    BindReceiverResp,
    BindTransmitter,
    BindTransmitterResp,
    QuerySm,
    QuerySmResp,
    SubmitSm,
    SubmitSmResp,
    DeliverSm,
    DeliverSmResp,
    Unbind,
    UnbindResp,
    ReplaceSm,
    ReplaceSmResp,
    CancelSm,
    CancelSmResp,
    BindTransceiver,
    BindTransceiverResp,
    Outbind,
    EnquireLink,
    EnquireLinkResp,
    SubmitMulti,
    SubmitMultiResp,
    AlertNotification,
    DataSm,
    DataSmResp,
)

BY_COMMAND_ID: dict[int, type[Pdu]] = {cls.command_id: cls for cls in PDU_CLASSES}

for _cls in PDU_CLASSES:
    if not _cls.command_id & RESPONSE_BIT:
        _cls.RESPONSE = BY_COMMAND_ID.get(_cls.command_id | RESPONSE_BIT)


def response_to(request: Pdu, command_status: int = 0) -> Pdu:
    """The response to ``request`` (same sequence number), generic_nack if it has none."""
    cls = request.RESPONSE or GenericNack
    return cls(sequence_number=request.sequence_number, command_status=command_status)
