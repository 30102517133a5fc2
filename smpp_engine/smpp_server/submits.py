"""A client's submit_sm, data_sm or submit_multi as the messages the gateway stores.

Each submit is one stored message of one part holding the client's segment as
sent (:class:`~smpp_engine.protocol.SegmentPayload`): a part of a long message
keeps its UDH or SAR TLVs and goes upstream as it came, with its own id and
its own receipt, as the client expects of an SMSC. The text kept beside it is
for people (``smpp-engine status``, ``GET /v1/messages``): the segment decoded,
its UDH left out. A client asking for receipts gets them over SMPP through the
callback outbox (``smpp:SYSTEM_ID``): registered_delivery 1 asks for every final
state, 2 for failures only.
"""

from __future__ import annotations

from datetime import UTC, datetime

from throttling import Priority

from ..protocol import (
    CommandStatus,
    DataSm,
    PduError,
    SegmentPayload,
    SmeAddress,
    SubmitMulti,
    SubmitSm,
    Tag,
    decode_text,
    parse_smpp_time,
)
from ..routing import MessageFacts, RoutingTable, kind_of_priority
from ..store import FINAL_STATES, MessageState, NewMessage
from ..store.callbacks import SMPP_URL_PREFIX
from .accounts import Account

__all__ = ["SubmitRefusedError", "messages_of"]

_UDHI = 0x40
_ALL_FINAL = frozenset(s.value for s in FINAL_STATES)
_FAILURES = _ALL_FINAL - {MessageState.DELIVERED.value}


class SubmitRefusedError(Exception):
    """The submit cannot be taken: ``status`` says why to the client."""

    def __init__(self, status: int, reason: str) -> None:
        self.status = status
        self.reason = reason
        super().__init__(reason)


def messages_of(
    pdu: SubmitSm | DataSm | SubmitMulti,
    account: Account,
    priority: Priority,
    now: float,
    routing: RoutingTable | None = None,
) -> list[NewMessage]:
    """The messages ``pdu`` asks for (one per destination); :class:`SubmitRefusedError` if none.

    With a routing table, each message goes where the rules send it (the account's
    system_id is the client a rule may name), unless the account names its route."""
    source = pdu.source_addr
    if not source or not account.allows_source(source):
        raise SubmitRefusedError(CommandStatus.ESME_RINVSRCADR, f"source {source!r} not allowed")
    short_message = getattr(pdu, "short_message", b"")
    segment = SegmentPayload.of(pdu.esm_class, pdu.data_coding, short_message, pdu.tlvs)
    try:
        payload = segment.encode()
    except PduError as exc:
        raise SubmitRefusedError(exc.status, exc.reason) from None
    validity = getattr(pdu, "validity_period", "")
    scheduled = getattr(pdu, "schedule_delivery_time", "")
    expiry = schedule = None
    if validity or scheduled:
        moment = datetime.fromtimestamp(now, UTC)
        try:
            expiry = parse_smpp_time(validity, moment)
            schedule = parse_smpp_time(scheduled, moment, field="schedule_delivery_time")
        except PduError as exc:
            raise SubmitRefusedError(exc.status, exc.reason) from None
    requested = pdu.registered_delivery & 0x03
    events = _ALL_FINAL if requested == 1 else _FAILURES if requested == 2 else frozenset()
    if isinstance(pdu, SubmitMulti):
        # Distribution lists are the SMSC's own: the gateway keeps none.
        destinations = [
            (a.dest_addr_ton, a.dest_addr_npi, a.destination_addr)
            for a in pdu.dest_addresses
            if isinstance(a, SmeAddress)
        ]
    else:
        destinations = [(pdu.dest_addr_ton, pdu.dest_addr_npi, pdu.destination_addr)]
    destinations = [d for d in destinations if d[2]]
    if not destinations:
        raise SubmitRefusedError(CommandStatus.ESME_RINVDSTADR, "no destination address")
    text = _text(segment)

    def route_of(destination: str) -> tuple[str, str | None, tuple[str, ...]]:
        if routing is None:
            return account.route, None, ()
        if account.explicit_route:
            choice = RoutingTable.explicit(account.route)
        else:
            key = MessageFacts.stable_key(None, destination, source, text)
            facts = MessageFacts(
                destination, source, kind_of_priority(priority), account.system_id, key
            )
            choice = routing.choose(facts, now)
        return choice.route, choice.rule, choice.plan

    routes = {address: route_of(address) for _, _, address in destinations}
    return [
        NewMessage(
            smsc=routes[address][0],
            route_rule=routes[address][1],
            route_plan=routes[address][2],
            source=source,
            source_ton=pdu.source_addr_ton,
            source_npi=pdu.source_addr_npi,
            destination=address,
            dest_ton=ton,
            dest_npi=npi,
            text=text,
            parts=1,
            priority=priority,
            registered_delivery=bool(events),
            not_before=0.0 if schedule is None else schedule.timestamp(),
            expires_at=None if expiry is None else expiry.timestamp(),
            tenant=account.tenant.name,
            callback_url=f"{SMPP_URL_PREFIX}{account.system_id}" if events else None,
            callback_events=events,
            payload=payload,
        )
        for ton, npi, address in destinations
    ]


def _text(segment: SegmentPayload) -> str:
    """The segment's text for people: decoded as well as it goes, UDH left out."""
    data = segment.short_message
    if not data:
        value = segment.tlvs.get(Tag.message_payload)
        data = value if isinstance(value, bytes) else b""
    if segment.esm_class & _UDHI and data:
        data = data[1 + data[0] :]
    return decode_text(data, segment.data_coding)
