"""Delivery receipts: recognising, parsing and formatting them, and matching their ids.

An SMSC reports a message's fate in a deliver_sm (or data_sm) whose esm_class marks
it as a receipt. The state travels in the receipted_message_id / message_state /
network_error_code TLVs and, in most SMSCs, also in a vendor-specific text (SMPP 3.4
Appendix B)::

    id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm
    stat:DDDDDDD err:E text:...

:func:`parse_receipt` prefers the TLVs and reads the text tolerantly for what they
lack. Ids are kept exactly as the SMSC sent them; :func:`response_id_key` and
:func:`receipt_id_key` turn the submit_sm_resp id and the receipt id into one
comparable key under a per-SMSC :class:`MessageIdPolicy`.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from .tlv import NetworkErrorCode, Tag, Tlvs, TlvValue

__all__ = [
    "MessageIdError",
    "MessageIdPolicy",
    "MessageState",
    "Receipt",
    "ReceiptError",
    "format_receipt_text",
    "is_intermediate_notification",
    "is_receipt",
    "parse_receipt",
    "receipt_id_key",
    "receipt_tlvs",
    "response_id_key",
]


def _shorten(value: object) -> str:
    # Errors end up in logs; a 64 KiB message_payload must not.
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class ReceiptError(ValueError):
    """A receipt from which no message id or no known state can be read.

    ``field`` names where it was looked for last (``"id"``, ``"stat"`` or
    ``"message_state"``), ``value`` is what was found there (``None`` if nothing).
    """

    def __init__(self, reason: str, *, field: str, value: object = None) -> None:
        self.reason = reason
        self.field = field
        self.value = value
        super().__init__(f"{reason} (field {field}, value {_shorten(value)})")


class MessageIdError(ValueError):
    """A message id that does not fit the SMSC's configured :class:`MessageIdPolicy`.

    ``field`` is ``"message_id"`` (from submit_sm_resp) or ``"receipted_message_id"``
    (from a receipt); ``value`` is the id as received.
    """

    def __init__(self, reason: str, *, field: str, value: str, policy: MessageIdPolicy) -> None:
        self.reason = reason
        self.field = field
        self.value = value
        self.policy = policy
        super().__init__(
            f"{reason} (field {field}, value {_shorten(value)}, policy {policy.value})"
        )


class MessageState(enum.IntEnum):
    """message_state (3.4 section 5.2.28, 5.0 section 4.7.15)."""

    SCHEDULED = 0  # 5.0; 3.4 SMSCs report ENROUTE instead
    ENROUTE = 1
    DELIVERED = 2
    EXPIRED = 3
    DELETED = 4
    UNDELIVERABLE = 5
    ACCEPTED = 6
    UNKNOWN = 7
    REJECTED = 8
    SKIPPED = 9  # 5.0

    @property
    def final(self) -> bool:
        """True when no later state will follow (no further receipt to wait for).

        UNKNOWN counts as final: 3.4 Appendix B lists it among the final receipt
        states and SMSCs send no second receipt after it, so waiting would hang the
        message forever. ACCEPTED is final in the 3.4 sense (accepted on the
        subscriber's behalf), not "accepted for delivery".
        """
        return self not in _INTERMEDIATE

    @property
    def stat_word(self) -> str:
        """The receipt text's ``stat:`` word for this state (``DELIVRD``, ``UNDELIV``...)."""
        return _STAT_WORD[self]

    @classmethod
    def from_stat_word(cls, word: str) -> MessageState:
        """The state a ``stat:`` word means, in any case and the variants seen in the
        field; raises :class:`ReceiptError` for a word not known."""
        state = _STAT_STATE.get(word.upper())
        if state is None:
            raise ReceiptError("unknown receipt stat word", field="stat", value=word)
        return state


_INTERMEDIATE = frozenset({MessageState.SCHEDULED, MessageState.ENROUTE})
_STAT_WORD: dict[MessageState, str] = {
    MessageState.SCHEDULED: "SCHEDULED",  # no 3.4 word exists
    MessageState.ENROUTE: "ENROUTE",
    MessageState.DELIVERED: "DELIVRD",
    MessageState.EXPIRED: "EXPIRED",
    MessageState.DELETED: "DELETED",
    MessageState.UNDELIVERABLE: "UNDELIV",
    MessageState.ACCEPTED: "ACCEPTD",
    MessageState.UNKNOWN: "UNKNOWN",
    MessageState.REJECTED: "REJECTD",
    MessageState.SKIPPED: "SKIPPED",  # no 3.4 word exists
}
#: Upper-cased stat words to states: Appendix B's seven-letter words plus the
#: spelled-out names and other variants real SMSCs send.
_STAT_STATE: dict[str, MessageState] = {
    **{word: state for state, word in _STAT_WORD.items()},
    **{state.name: state for state in MessageState},
    "UNDELIVERED": MessageState.UNDELIVERABLE,
    "FAILED": MessageState.UNDELIVERABLE,
}
_STATE_BY_VALUE: dict[int, MessageState] = {state.value: state for state in MessageState}

_MESSAGE_TYPE_MASK = 0x3C
_SMSC_DELIVERY_RECEIPT = 0x04
_INTERMEDIATE_NOTIFICATION = 0x20


def is_receipt(esm_class: int) -> bool:
    """True when esm_class marks an SMSC delivery receipt (message type 0001)."""
    return (esm_class & _MESSAGE_TYPE_MASK) == _SMSC_DELIVERY_RECEIPT


def is_intermediate_notification(esm_class: int) -> bool:
    """True when esm_class marks an intermediate delivery notification (type 1000)."""
    return (esm_class & _MESSAGE_TYPE_MASK) == _INTERMEDIATE_NOTIFICATION


@dataclass(slots=True)
class Receipt:
    """What a delivery receipt says about one submitted message (one segment).

    ``message_id`` is exactly as the SMSC sent it; ``error`` is the text's ``err:``
    value as given. Dates are naive, in the SMSC's clock, with year 2000+YY.
    ``extra`` holds the text's unknown ``key:value`` fields, keys lower-cased.

    A value: nothing changes one after it is made. It is not frozen only because
    a frozen dataclass costs 3 µs more to build, once per receipt on the hot path.
    """

    message_id: str
    state: MessageState
    error: str | None = None
    network_error: NetworkErrorCode | None = None
    submitted: int | None = None
    delivered: int | None = None
    submit_date: datetime | None = None
    done_date: datetime | None = None
    text: str | None = None
    intermediate: bool = False
    extra: dict[str, str] = field(default_factory=dict)


# One pass over the text: each match is a key (which must start a word) and the
# non-blank run after its colon, or "text:" and everything after it (free-form,
# blanks and colons included). "submit date"/"done date" are the only keys with a
# blank inside, so they are spelled out first. A value may hold colons itself.
_FIELD = re.compile(
    r"(?<!\S)(?:(text):(.*)|(submit[ _]?date|done[ _]?date|[^\s:]+):(\S*))",
    re.ASCII | re.IGNORECASE | re.DOTALL,
)
_STRIP = " \t\r\n\x0b\x0c\x00"
# The layout of Appendix B with every field, lower-case keys and single blanks:
# the common case, read by one match instead of the loop over _FIELD.
_STANDARD = re.compile(
    r"id:(\S*) sub:(\S*) dlvrd:(\S*) submit date:(\S*) done date:(\S*) stat:(\S*) err:(\S*)"
    r"(?: text:(.*))?",
    re.ASCII | re.DOTALL,
)
_KNOWN_KEYS: dict[str, str] = {
    "id": "id",
    "sub": "sub",
    "dlvrd": "dlvrd",
    "submit date": "submit date",
    "submit_date": "submit date",
    "submitdate": "submit date",
    "done date": "done date",
    "done_date": "done date",
    "donedate": "done date",
    "stat": "stat",
    "err": "err",
    "text": "text",  # matched by its own branch of _FIELD; listed so extras cannot use it
}

_RECEIPTED_MESSAGE_ID = Tag.receipted_message_id.value
_MESSAGE_STATE = Tag.message_state.value
_NETWORK_ERROR_CODE = Tag.network_error_code.value
_MESSAGE_PAYLOAD = Tag.message_payload.value


def parse_receipt(esm_class: int, short_message: bytes, tlvs: Mapping[int, TlvValue]) -> Receipt:
    """Read a receipt from a deliver_sm/data_sm's esm_class, short_message and TLVs.

    The receipted_message_id and message_state TLVs win over the text's ``id:`` and
    ``stat:``; everything else (dates, err, sub, dlvrd, text, unknown fields) comes
    from the text, which is short_message or else the message_payload TLV, decoded
    as Latin-1. Unreadable dates or counts become ``None``. Raises
    :class:`ReceiptError` (and nothing else) when no id or no known state is found.

    When the TLVs give both the id and a known state, nothing in the text can make
    the receipt unreadable: the text is then read when one of its fields is first
    asked for, not here (most receivers only match the id and the state).
    """
    message_id = _tlv_string(tlvs.get(_RECEIPTED_MESSAGE_ID))
    state = _tlv_state(tlvs.get(_MESSAGE_STATE))
    intermediate = (esm_class & _MESSAGE_TYPE_MASK) == _INTERMEDIATE_NOTIFICATION
    if message_id and state is not None:
        return _TextUnread._create(
            message_id,
            state,
            _network_error(tlvs.get(_NETWORK_ERROR_CODE)),
            intermediate,
            _receipt_text(short_message, tlvs),
        )
    found, extra, text = _read_text(_receipt_text(short_message, tlvs))

    message_id = message_id or found.get("id")
    if not message_id:
        raise ReceiptError("no message id in receipted_message_id or the receipt text", field="id")

    if state is None:
        tlv_state = tlvs.get(_MESSAGE_STATE)
        word = found.get("stat")
        if word is not None:
            state = _STAT_STATE.get(word.upper())
            if state is None:
                raise ReceiptError("unknown receipt stat word", field="stat", value=word)
        elif tlv_state is not None:
            raise ReceiptError("unknown message_state", field="message_state", value=tlv_state)
        else:
            raise ReceiptError("no message_state or stat in the receipt", field="stat")

    return Receipt(
        message_id=message_id,
        state=state,
        error=found.get("err"),
        network_error=_network_error(tlvs.get(_NETWORK_ERROR_CODE)),
        submitted=_count(found.get("sub")),
        delivered=_count(found.get("dlvrd")),
        submit_date=_date(found.get("submit date")),
        done_date=_date(found.get("done date")),
        text=text,
        intermediate=intermediate,
        extra=extra,
    )


def _read_text(body: str) -> tuple[dict[str, str], dict[str, str], str | None]:
    """The known fields (by canonical key), the unknown ones, and ``text:`` of a receipt text."""
    found: dict[str, str] = {}
    extra: dict[str, str] = {}
    text: str | None = None
    standard = _STANDARD.fullmatch(body) if body else None
    if standard is not None:
        # Appendix B's layout exactly, as most SMSCs write it: one match, and the
        # same values the general loop below would find.
        ident, sub, dlvrd, submit_date, done_date, stat, err, text = standard.groups()
        found = {
            "id": ident,
            "sub": sub,
            "dlvrd": dlvrd,
            "submit date": submit_date,
            "done date": done_date,
            "stat": stat,
            "err": err,
        }
        if text is not None:
            text = text.strip(_STRIP)
    elif body:
        known = _KNOWN_KEYS
        # findall, not finditer: tuples are cheaper than match objects on this path.
        for text_key, text_value, key, value in _FIELD.findall(body):
            if text_key:
                text = text_value.strip(_STRIP)
                break
            lowered = key.lower()
            name = known.get(lowered)
            if name is None:
                if lowered not in extra:
                    extra[lowered] = value
            elif name not in found:
                found[name] = value
    return found, extra, text


def _tlv_state(value: TlvValue | None) -> MessageState | None:
    if isinstance(value, int):
        return _STATE_BY_VALUE.get(value)
    if isinstance(value, bytes) and len(value) == 1:
        return _STATE_BY_VALUE.get(value[0])
    return None


# The fields a receipt's text gives; the TLVs give the others.
_TEXT_FIELDS = ("error", "submitted", "delivered", "submit_date", "done_date", "text", "extra")
_SLOTS = {name: Receipt.__dict__[name] for name in _TEXT_FIELDS}


def _from_text(name: str) -> property:
    slot = _SLOTS[name]

    def read(receipt: _TextUnread) -> object:
        if receipt._body is not None:
            receipt._read()
        return slot.__get__(receipt, Receipt)

    def write(receipt: _TextUnread, value: object) -> None:
        slot.__set__(receipt, value)

    return property(read, write, doc=f"``{name}``, read from the text on first use.")


class _TextUnread(Receipt):
    """A :class:`Receipt` whose id and state came from the TLVs; its text is read
    on first use of a field that comes from it.

    It is a Receipt in every way: equal to the eager one with the same fields,
    copied, pickled and replaced as one.
    """

    __slots__ = ("_body",)

    def __init__(self, *args: object, **fields: object) -> None:
        # Built like a Receipt (dataclasses.replace does so): nothing left to read.
        self._body: str | None = None
        Receipt.__init__(self, *args, **fields)  # type: ignore[arg-type]

    @classmethod
    def _create(
        cls,
        message_id: str,
        state: MessageState,
        network_error: NetworkErrorCode | None,
        intermediate: bool,
        body: str,
    ) -> _TextUnread:
        receipt = cls.__new__(cls)
        receipt.message_id = message_id
        receipt.state = state
        receipt.network_error = network_error
        receipt.intermediate = intermediate
        receipt._body = body
        return receipt

    def _read(self) -> None:
        body = self._body
        assert body is not None
        found, extra, text = _read_text(body)
        slots = _SLOTS
        slots["error"].__set__(self, found.get("err"))
        slots["submitted"].__set__(self, _count(found.get("sub")))
        slots["delivered"].__set__(self, _count(found.get("dlvrd")))
        slots["submit_date"].__set__(self, _date(found.get("submit date")))
        slots["done_date"].__set__(self, _date(found.get("done date")))
        slots["text"].__set__(self, text)
        slots["extra"].__set__(self, extra)
        # Last: a reader on another thread meanwhile reads the text again (the same
        # fields), never a field not yet set.
        self._body = None

    error = _from_text("error")
    submitted = _from_text("submitted")
    delivered = _from_text("delivered")
    submit_date = _from_text("submit_date")
    done_date = _from_text("done_date")
    text = _from_text("text")
    extra = _from_text("extra")

    def _eager(self) -> Receipt:
        return Receipt(**{name: getattr(self, name) for name in _FIELD_NAMES})

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Receipt):
            return all(getattr(self, name) == getattr(other, name) for name in _FIELD_NAMES)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # as Receipt: a value that compares by fields

    def __repr__(self) -> str:
        return repr(self._eager())

    def __reduce__(self) -> tuple[type[Receipt], tuple[object, ...]]:
        # Copies and pickles are plain receipts: their text is read already.
        return Receipt, tuple(getattr(self, name) for name in _FIELD_NAMES)


_FIELD_NAMES = tuple(Receipt.__dataclass_fields__)


def _receipt_text(short_message: bytes, tlvs: Mapping[int, TlvValue]) -> str:
    # Latin-1 maps every byte to a character: decoding can never fail.
    if short_message:
        return short_message.decode("latin-1")
    payload = tlvs.get(_MESSAGE_PAYLOAD)
    if isinstance(payload, bytes):
        return payload.decode("latin-1")
    return payload if isinstance(payload, str) else ""


def _tlv_string(value: TlvValue | None) -> str | None:
    # The codec gives str; raw bytes come from callers that skipped it.
    if isinstance(value, str):
        return value.strip(_STRIP) or None
    if isinstance(value, bytes):
        return value.split(b"\x00", 1)[0].decode("latin-1").strip(_STRIP) or None
    return None


def _network_error(value: TlvValue | None) -> NetworkErrorCode | None:
    if isinstance(value, NetworkErrorCode):
        return value
    if isinstance(value, bytes) and len(value) == 3:
        return NetworkErrorCode(value[0], int.from_bytes(value[1:], "big"))
    return None


def _count(value: str | None) -> int | None:
    # isascii: int() would also take "٣" or "1_0", which no SMSC means as a count.
    if value is None or not value.isascii() or not value.isdigit():
        return None
    try:
        return int(value)
    except ValueError:  # more digits than int() converts
        return None


def _date(value: str | None) -> datetime | None:
    if value is None:
        return None
    return _cached_date(value)


# Receipts arriving together carry the same few dates (to the minute): a datetime
# is built once per distinct string. datetime is immutable, so sharing is safe.
@lru_cache(maxsize=4096)
def _cached_date(value: str) -> datetime | None:
    size = len(value)
    if size not in (10, 12) or not value.isascii() or not value.isdigit():
        return None
    try:
        return datetime(
            2000 + int(value[0:2]),
            int(value[2:4]),
            int(value[4:6]),
            int(value[6:8]),
            int(value[8:10]),
            int(value[10:12]) if size == 12 else 0,
        )
    except ValueError:
        return None


_TOKEN = re.compile(r"[^\s\x00]*", re.ASCII)
_EXTRA_KEY = re.compile(r"[^\s\x00:]+", re.ASCII)


def format_receipt_text(receipt: Receipt, *, date_digits: int = 10) -> bytes:
    """The Appendix B receipt text for ``receipt``, as an SMSC (the simulator) sends it.

    ``id sub dlvrd submit date done date stat err``, then ``extra`` fields, then
    ``text:`` with the first 20 characters. Fields that are ``None`` are left out,
    so :func:`parse_receipt` gives the same values back. Dates are written with
    ``date_digits`` 10 (YYMMDDhhmm) or 12 (YYMMDDhhmmss) digits. Characters of the
    text outside Latin-1 become ``?``; an id, err or extra field that would not
    survive the round trip raises :class:`ReceiptError`.
    """
    if date_digits not in (10, 12):
        raise ValueError(f"date_digits must be 10 or 12, not {date_digits}")
    date_format = "%y%m%d%H%M%S" if date_digits == 12 else "%y%m%d%H%M"
    parts = [f"id:{_token('id', receipt.message_id, empty=False)}"]
    if receipt.submitted is not None:
        parts.append(f"sub:{_number('sub', receipt.submitted):03d}")
    if receipt.delivered is not None:
        parts.append(f"dlvrd:{_number('dlvrd', receipt.delivered):03d}")
    if receipt.submit_date is not None:
        parts.append(f"submit date:{_year('submit date', receipt.submit_date):{date_format}}")
    if receipt.done_date is not None:
        parts.append(f"done date:{_year('done date', receipt.done_date):{date_format}}")
    parts.append(f"stat:{receipt.state.stat_word}")
    if receipt.error is not None:
        parts.append(f"err:{_token('err', receipt.error, empty=True)}")
    for key, value in receipt.extra.items():
        if _EXTRA_KEY.fullmatch(key) is None or key.lower() in _KNOWN_KEYS:
            raise ReceiptError("extra key cannot be written as a receipt field", field=key)
        parts.append(f"{key}:{_token(key, value, empty=True)}")
    head = " ".join(parts).encode("latin-1")
    if receipt.text is None:
        return head
    return head + b" text:" + receipt.text[:20].encode("latin-1", "replace")


def _token(name: str, value: str, *, empty: bool) -> str:
    if (not value and not empty) or _TOKEN.fullmatch(value) is None or not _latin1(value):
        raise ReceiptError("value cannot be written as a receipt field", field=name, value=value)
    return value


def _latin1(value: str) -> bool:
    return value.isascii() or max(value) <= "\xff"


def _number(name: str, value: int) -> int:
    if value < 0:
        raise ReceiptError("count must not be negative", field=name, value=value)
    return value


def _year(name: str, value: datetime) -> datetime:
    # Two-digit years are read back as 2000+YY; anything else would come back wrong.
    if not 2000 <= value.year <= 2099:
        raise ReceiptError("receipt dates must lie in 2000-2099", field=name, value=value)
    return value


def receipt_tlvs(receipt: Receipt) -> Tlvs:
    """The receipted_message_id, message_state and (when set) network_error_code TLVs."""
    tlvs: Tlvs = {
        Tag.receipted_message_id: receipt.message_id,
        Tag.message_state: receipt.state.value,
    }
    if receipt.network_error is not None:
        tlvs[Tag.network_error_code] = receipt.network_error
    return tlvs


class MessageIdPolicy(enum.StrEnum):
    """How one SMSC's submit_sm_resp ids relate to the ids in its receipts.

    - ``AS_IS``: both sides carry the same string, compared exactly.
    - ``HEX_TO_DEC``: submit_sm_resp gives hex, receipts give the same number in
      decimal (``1A2B`` then ``6699``). Case and leading zeros do not matter.
    - ``DEC_TO_HEX``: the reverse.
    - ``STRIP_LEADING_ZEROS``: same string on both sides up to leading zeros
      (``000123`` and ``123``).
    - ``CASE_INSENSITIVE``: same string on both sides up to letter case.
    """

    AS_IS = "as_is"
    HEX_TO_DEC = "hex_to_dec"
    DEC_TO_HEX = "dec_to_hex"
    STRIP_LEADING_ZEROS = "strip_leading_zeros"
    CASE_INSENSITIVE = "case_insensitive"


_HEX_DIGITS = re.compile(r"[0-9A-Fa-f]+")


def response_id_key(message_id: str, policy: MessageIdPolicy) -> str:
    """The matching key of a submit_sm_resp message_id under ``policy``.

    Equal to :func:`receipt_id_key` of a receipt's id exactly when both name the
    same message. Raises :class:`MessageIdError` for an id the policy cannot read.
    """
    return _id_key(message_id, policy, "message_id", policy is MessageIdPolicy.HEX_TO_DEC)


def receipt_id_key(message_id: str, policy: MessageIdPolicy) -> str:
    """The matching key of a receipt's (receipted_) message id under ``policy``."""
    return _id_key(message_id, policy, "receipted_message_id", policy is MessageIdPolicy.DEC_TO_HEX)


def _id_key(message_id: str, policy: MessageIdPolicy, name: str, hex_side: bool) -> str:
    if not message_id:
        raise MessageIdError("empty message id", field=name, value=message_id, policy=policy)
    if policy is MessageIdPolicy.AS_IS:
        return message_id
    if policy is MessageIdPolicy.CASE_INSENSITIVE:
        return message_id.lower()
    if policy is MessageIdPolicy.STRIP_LEADING_ZEROS:
        return message_id.lstrip("0") or "0"
    # HEX_TO_DEC / DEC_TO_HEX: the key is the number in decimal, so that leading
    # zeros and hex letter case cannot tell two spellings of one id apart.
    try:
        if hex_side:
            if _HEX_DIGITS.fullmatch(message_id) is not None:
                return str(int(message_id, 16))
        elif message_id.isascii() and message_id.isdigit():
            return str(int(message_id))
    except ValueError:  # more decimal digits than int() converts
        pass
    raise MessageIdError(
        "message id is not " + ("hexadecimal" if hex_side else "decimal"),
        field=name,
        value=message_id,
        policy=policy,
    )
