"""Field layouts of PDU bodies: the vocabulary the PDU classes declare themselves in.

A layout is a tuple of field descriptors in wire order. :mod:`.codec` compiles
each layout once, at import, into a specialised encode and decode function.
"""

from __future__ import annotations

from typing import NamedTuple

from .status import CommandStatus


class CString(NamedTuple):
    """A C-octet string; ``size`` is the spec's maximum *including* the NUL."""

    name: str
    size: int
    status: int = CommandStatus.ESME_RINVCMDLEN
    #: Some fields (times) are either empty or exactly ``size - 1`` characters long.
    fixed: bool = False
    #: A larger size accepted when decoding, for fields real peers overfill
    #: harmlessly; encoding always keeps to ``size``.
    decode_size: int = 0


class Int8(NamedTuple):
    """A one-octet unsigned integer."""

    name: str
    status: int = CommandStatus.ESME_RINVCMDLEN


class ShortMessage(NamedTuple):
    """sm_length (one octet) followed by that many octets of short_message."""

    name: str = "short_message"


class DestAddresses(NamedTuple):
    """submit_multi's number_of_dests followed by SME addresses and distribution lists."""

    name: str = "dest_addresses"


class UnsuccessSmes(NamedTuple):
    """submit_multi_resp's no_unsuccess followed by the failed destinations."""

    name: str = "unsuccess_smes"


Field = CString | Int8 | ShortMessage | DestAddresses | UnsuccessSmes

_S = CommandStatus

# Field descriptors shared by several PDUs, named once so the limits live in one place.
SERVICE_TYPE = CString("service_type", 6, _S.ESME_RINVSERTYP)
SOURCE_ADDR_TON = Int8("source_addr_ton", _S.ESME_RINVSRCTON)
SOURCE_ADDR_NPI = Int8("source_addr_npi", _S.ESME_RINVSRCNPI)
SOURCE_ADDR_21 = CString("source_addr", 21, _S.ESME_RINVSRCADR)
SOURCE_ADDR_65 = CString("source_addr", 65, _S.ESME_RINVSRCADR)
DEST_ADDR_TON = Int8("dest_addr_ton", _S.ESME_RINVDSTTON)
DEST_ADDR_NPI = Int8("dest_addr_npi", _S.ESME_RINVDSTNPI)
DESTINATION_ADDR_21 = CString("destination_addr", 21, _S.ESME_RINVDSTADR)
DESTINATION_ADDR_65 = CString("destination_addr", 65, _S.ESME_RINVDSTADR)
ESM_CLASS = Int8("esm_class", _S.ESME_RINVESMCLASS)
PROTOCOL_ID = Int8("protocol_id")
PRIORITY_FLAG = Int8("priority_flag", _S.ESME_RINVPRTFLG)
SCHEDULE_DELIVERY_TIME = CString("schedule_delivery_time", 17, _S.ESME_RINVSCHED, fixed=True)
VALIDITY_PERIOD = CString("validity_period", 17, _S.ESME_RINVEXPIRY, fixed=True)
REGISTERED_DELIVERY = Int8("registered_delivery", _S.ESME_RINVREGDLVFLG)
REPLACE_IF_PRESENT_FLAG = Int8("replace_if_present_flag", _S.ESME_RINVREPFLAG)
DATA_CODING = Int8("data_coding")
SM_DEFAULT_MSG_ID = Int8("sm_default_msg_id", _S.ESME_RINVDFTMSGID)
MESSAGE_ID = CString("message_id", 65, _S.ESME_RINVMSGID)
SYSTEM_ID = CString("system_id", 16, _S.ESME_RINVSYSID)
PASSWORD = CString("password", 9, _S.ESME_RINVPASWD)
SYSTEM_TYPE = CString("system_type", 13, _S.ESME_RINVSYSTYP)
INTERFACE_VERSION = Int8("interface_version")
ADDR_TON = Int8("addr_ton")
ADDR_NPI = Int8("addr_npi")
ADDRESS_RANGE = CString("address_range", 41)

BIND = (SYSTEM_ID, PASSWORD, SYSTEM_TYPE, INTERFACE_VERSION, ADDR_TON, ADDR_NPI, ADDRESS_RANGE)
# Several SMSCs answer binds with a system_id longer than the spec's 15 characters;
# refusing it would fail the bind over a field the ESME only logs.
BIND_RESP = (SYSTEM_ID._replace(decode_size=65),)
SM = (
    SERVICE_TYPE,
    SOURCE_ADDR_TON,
    SOURCE_ADDR_NPI,
    SOURCE_ADDR_21,
    DEST_ADDR_TON,
    DEST_ADDR_NPI,
    DESTINATION_ADDR_21,
    ESM_CLASS,
    PROTOCOL_ID,
    PRIORITY_FLAG,
    SCHEDULE_DELIVERY_TIME,
    VALIDITY_PERIOD,
    REGISTERED_DELIVERY,
    REPLACE_IF_PRESENT_FLAG,
    DATA_CODING,
    SM_DEFAULT_MSG_ID,
    ShortMessage(),
)
