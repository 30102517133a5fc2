# ruff: noqa: RUF001, RUF002, RUF003 - Cyrillic keywords and texts are the point here
"""The SMS command grammar: what consumers send, read into a :class:`Command`.

Matching is case-insensitive and blind to the Latin/Cyrillic look-alikes
(А/A, В/B, Е/E, К/K, М/M, Н/H, О/O, Р/P, С/C, Т/T, Х/X, У/Y) and to accents
(``SÍ`` is ``SI``). Phones without Cyrillic may write the Cyrillic words and
meter labels in Latin letters (``POKAZ``, ``DOLG``, ``GV``, ``G``): where a
letter may stand for two labels, the account's meters decide. Pieces are
separated by spaces, ``#``, ``*`` or any other punctuation; ``,`` and ``.``
inside a number are its decimal point, ``/`` joins the values of one meter's
zones (``1250/1730``).

Readings::

    [keyword] [account] values            1234567833 1234   ПОК 1234567833 1234   1234
    [keyword] [account] T1 v T2 v ...     102055 Т1 12345 Т2 6789
    [keyword] [account] v/v               1#1250/1730   (1# is the meter's ordinal)
    [keyword] [account] marker v ...      ЖКХ 123456 Х 56.8 Г 47.3   102055 1Э12345 1Г321

The account is a leading number of the utility's account length (or one
written ``ЛС123456``); it may be left out by a phone bound to one account.
Other commands: balance (``БАЛ [account]``), help (``?``), STOP/START and the
confirmation of a reading (``ДА``/``YES``/``SÍ``).

:func:`parse_sms` raises nothing but :class:`SmsParseError`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Final, NamedTuple

from .errors import ParseProblem, SettingsError, SmsParseError
from .model import FastEnum, Service, Zone


class Intent(FastEnum):
    READING = "reading"
    BALANCE = "balance"
    HELP = "help"
    STOP = "stop"
    START = "start"
    CONFIRM = "confirm"


class ValueEntry(NamedTuple):
    """One value read off a register; ``zone`` when the sender named it (``Т1 12345``)."""

    value: Decimal
    zone: Zone | None = None


class MeterEntry(NamedTuple):
    """The values of one meter.

    ``services`` is what the sender's marker can mean (``Г`` is hot water or
    gas; the account's meters decide), None when no marker was written.
    ``ordinal`` picks the n-th such meter (``1Э``, ``1#``).
    """

    values: tuple[ValueEntry, ...]
    services: frozenset[Service] | None = None
    ordinal: int | None = None
    marker: str | None = None

    @property
    def positional(self) -> bool:
        """The values fill the meter's registers in order (no zone named)."""
        return self.values[0].zone is None


class Command(NamedTuple):
    """A parsed SMS.

    ``account_from_position`` is true when the account is a bare leading number
    (not ``ЛС…``): if that number is not an account of the phone, it may be the
    first value of a phone bound to one account (see :func:`parse_sms`'s
    ``positional_account``).
    """

    intent: Intent
    account_number: str | None = None
    meters: tuple[MeterEntry, ...] = ()
    account_from_position: bool = False


KEYWORDS: Final[Mapping[Intent, tuple[str, ...]]] = {
    Intent.READING: (
        "ПОК", "ПОКАЗ", "ПОКАЗАНИЯ", "ПОКАЗАНИЕ", "ЖКХ", "ОТЧИТАНЕ",
        "LECTURA", "LECT", "LEC", "READ", "READING", "METER",
    ),
    Intent.BALANCE: (
        "БАЛ", "БАЛАНС", "ДОЛГ", "САЛДО", "ЗАДЪЛЖЕНИЕ",
        "BAL", "BALANCE", "DEBT", "SALDO", "DEUDA",
    ),
    Intent.HELP: ("ПОМОЩЬ", "ПОМОЩ", "СПРАВКА", "ИНФО", "HELP", "INFO", "AYUDA"),
    Intent.STOP: ("СТОП", "ОТПИСКА", "STOP", "UNSUBSCRIBE", "BAJA"),
    Intent.START: ("СТАРТ", "START", "ALTA"),
    Intent.CONFIRM: ("ДА", "YES", "DA", "SÍ", "SI"),
}  # fmt: skip

#: The Cyrillic command words as phones without Cyrillic write them, in Latin
#: letters (the look-alikes need no entry: ``BAL``, ``CTOП`` fold already).
TRANSLITERATED_KEYWORDS: Final[Mapping[Intent, tuple[str, ...]]] = {
    Intent.READING: (
        "POK", "POKAZ", "POKAZANIYA", "POKAZANIJA", "POKAZANIA", "POKAZANIE",
        "ZHKH", "ZHKKH", "JKH", "OTCHITANE",
    ),
    Intent.BALANCE: ("BALANS", "DOLG", "ZADALZHENIE", "ZADULZHENIE", "ZADLAZHENIE"),
    Intent.HELP: ("POMOSHCH", "POMOSCH", "POMOSH", "POMOSHT", "SPRAVKA"),
    Intent.STOP: ("OTPISKA",),
}  # fmt: skip

#: Meter markers and the services each can mean.
MARKERS: Final[Mapping[str, frozenset[Service]]] = {
    **dict.fromkeys(
        ("Э", "ЭЛ", "ЭЛЕКТРО", "ТОК", "E", "EL", "LUZ"), frozenset({Service.ELECTRICITY})
    ),
    **dict.fromkeys(("Х", "ХВ", "ХВС", "СВ", "CW", "W", "AF"), frozenset({Service.COLD_WATER})),
    **dict.fromkeys(("ГВ", "ГВС", "ТВ", "HW", "AC"), frozenset({Service.HOT_WATER})),
    "Г": frozenset({Service.HOT_WATER, Service.GAS}),
    **dict.fromkeys(("ГАЗ", "GAS"), frozenset({Service.GAS})),
    **dict.fromkeys(("ОТ", "ОТОПЛ", "HEAT", "CAL"), frozenset({Service.HEATING})),
}

#: The Cyrillic meter labels as written in Latin letters. A letter that may stand
#: for two labels means either (``G`` is Г, hot water, or gas): the account's
#: meters decide, and an account that has both is asked which.
TRANSLITERATED_MARKERS: Final[Mapping[str, frozenset[Service]]] = {
    **dict.fromkeys(("ELEKTRO", "ELECTRO"), frozenset({Service.ELECTRICITY})),
    **dict.fromkeys(
        ("H", "KH", "HV", "XV", "KHV", "HVS", "XVS", "KHVS", "SV"), frozenset({Service.COLD_WATER})
    ),
    **dict.fromkeys(("GV", "GVS", "TV"), frozenset({Service.HOT_WATER})),
    "G": frozenset({Service.HOT_WATER, Service.GAS}),
    "GAZ": frozenset({Service.GAS}),
    "OTOPL": frozenset({Service.HEATING}),
}

#: Words written before an account number: ``ЛС1234567890``, ``№123456``.
ACCOUNT_PREFIXES: Final = ("ЛС", "ЛСЧ", "LS", "CTA", "№", "АБ", "ACC", "ACCT")

MAX_TEXT: Final = 480  # three concatenated UCS-2 parts: nobody types a reading longer
_MAX_DIGITS: Final = 15
_MAX_METERS: Final = 8
_MAX_VALUES: Final = 4

_LOOKALIKES: Final = str.maketrans("АВЕКМНОРСТХУІЈЅ", "ABEKMHOPCTXYIJS")
_MARKS: Final = re.compile("[\u0300-\u036f]")
_CHUNK: Final = re.compile(r"(?:[^\W_]|[/?.,])+")
_NUM: Final = r"[0-9]+(?:[.,][0-9]+)?"
_NUMBER: Final = re.compile(rf"{_NUM}\Z")
_TUPLE: Final = re.compile(rf"{_NUM}(?:/{_NUM})+\Z")
_WORDY: Final = re.compile(rf"([0-9]{{1,2}})?([^\W\d_]+)({_NUM}(?:/{_NUM})*)?\Z")
_QUESTION: Final = re.compile(r"\?+\Z")
_ZONES: Final = {zone.value[1]: zone for zone in Zone}


def fold(text: str) -> str:
    """``text`` as matched: compatibility forms, upper case, no accents, Latin look-alikes."""
    if text.isascii():
        return text.upper()
    text = unicodedata.normalize("NFKC", text).upper()
    return _MARKS.sub("", unicodedata.normalize("NFD", text)).translate(_LOOKALIKES)


def _is_digits(text: str) -> bool:
    # str.isdigit alone also takes other scripts' digits, which Decimal would read.
    return text.isascii() and text.isdigit()


def _chunks(folded: str) -> tuple[list[str], frozenset[int]]:
    """The pieces of ``folded`` and the indexes of those a ``#`` follows."""
    if "#" not in folded:  # the usual case: no match objects needed
        return [t for raw in _CHUNK.findall(folded) if (t := raw.strip(".,"))], frozenset()
    found = [(m.group().strip(".,"), m.start(), m.end()) for m in _CHUNK.finditer(folded)]
    texts: list[str] = []
    hashed: set[int] = set()
    for index, (text, _, end) in enumerate(found):
        if not text:
            continue
        following = found[index + 1][1] if index + 1 < len(found) else len(folded)
        if "#" in folded[end:following]:
            hashed.add(len(texts))
        texts.append(text)
    return texts, frozenset(hashed)


class Grammar:
    """The keyword tables of one utility: defaults plus its aliases, and its account length."""

    __slots__ = ("_keywords", "_markers", "_prefixes", "account_digits")

    def __init__(
        self,
        aliases: Mapping[str, Intent] | Iterable[tuple[str, Intent]] = (),
        account_digits: tuple[int, int] = (5, 12),
    ) -> None:
        low, high = account_digits
        if not 1 <= low <= high <= 20:
            raise SettingsError(
                "account digits are a range within 1-20",
                field="account_digits",
                value=account_digits,
            )
        self.account_digits = account_digits
        self._markers = {
            fold(word): services
            for table in (MARKERS, TRANSLITERATED_MARKERS)
            for word, services in table.items()
        }
        self._prefixes = frozenset(fold(word) for word in ACCOUNT_PREFIXES)
        self._keywords: dict[str, Intent] = {}
        for table in (KEYWORDS, TRANSLITERATED_KEYWORDS):
            for intent, words in table.items():
                for word in words:
                    self._add(word, intent)
        pairs = aliases.items() if isinstance(aliases, Mapping) else aliases
        for word, intent in pairs:
            self._add(word, intent)

    def _add(self, word: str, intent: Intent) -> None:
        key = fold(word.strip())
        match = _WORDY.match(key)
        if match is None or match.group(1) or match.group(3):
            raise SettingsError(
                "a command word is letters only", field="command_aliases", value=word
            )
        if key in self._markers or key in self._prefixes or key == "T":
            raise SettingsError(
                "a command word cannot be a meter marker or account prefix",
                field="command_aliases",
                value=word,
            )
        known = self._keywords.get(key)
        if known is not None and known is not intent:
            raise SettingsError(
                f"command word already means {known.value}", field="command_aliases", value=word
            )
        self._keywords[key] = intent

    def _account_shaped(self, text: str) -> bool:
        low, high = self.account_digits
        return low <= len(text) <= high and _is_digits(text)

    def parse(self, text: str, *, positional_account: bool = True) -> Command:
        """``text`` as a :class:`Command`; see :func:`parse_sms`."""
        if len(text) > MAX_TEXT:
            raise SmsParseError(ParseProblem.TOO_LONG, token=text[:20], text=text)
        chunks, hashed = _chunks(fold(text))
        if not chunks:
            raise SmsParseError(ParseProblem.EMPTY, token="", text=text)
        first = chunks[0]
        intent = Intent.HELP if _QUESTION.match(first) else self._keywords.get(first)
        if intent is None or intent is Intent.READING:
            start = 0 if intent is None else 1
            return self._reading(chunks, hashed, start, positional_account, text)
        if intent is Intent.BALANCE or intent is Intent.CONFIRM:
            return Command(intent, self._only_account(chunks[1:], text))
        # HELP, STOP, START must work whatever follows ("STOP please"): a compliance
        # word is never lost to a parse error.
        return Command(intent, self._any_account(chunks[1:]))

    def _prefixed(self, chunks: list[str], index: int) -> tuple[str, int] | None:
        """The account written with a prefix at ``index`` and the index after it."""
        match = _WORDY.match(chunks[index])
        if match is None or match.group(1) or match.group(2) not in self._prefixes:
            return None
        digits = match.group(3)
        if digits is not None:
            return (digits, index + 1) if _is_digits(digits) else None
        if index + 1 < len(chunks) and _is_digits(chunks[index + 1]):
            return chunks[index + 1], index + 2
        return None

    def _only_account(self, rest: list[str], text: str) -> str | None:
        if not rest:
            return None
        prefixed = self._prefixed(rest, 0)
        if prefixed is not None and prefixed[1] == len(rest):
            return prefixed[0]
        if len(rest) == 1 and self._account_shaped(rest[0]):
            return rest[0]
        raise SmsParseError(ParseProblem.UNEXPECTED, token=rest[0], text=text)

    def _any_account(self, rest: list[str]) -> str | None:
        for index, chunk in enumerate(rest):
            prefixed = self._prefixed(rest, index)
            if prefixed is not None:
                return prefixed[0]
            if self._account_shaped(chunk):
                return chunk
        return None

    @staticmethod
    def _number(token: str, text: str) -> Decimal:
        # ``token`` is digits with at most one decimal mark.
        if len(token) - (not token.isdigit()) > _MAX_DIGITS:
            raise SmsParseError(ParseProblem.BAD_NUMBER, token=token, text=text)
        return Decimal(token.replace(",", "."))

    def _reading(
        self,
        chunks: list[str],
        hashed: frozenset[int],
        index: int,
        positional_account: bool,
        text: str,
    ) -> Command:
        account: str | None = None
        from_position = False
        count = len(chunks)
        if index < count:
            prefixed = self._prefixed(chunks, index) if not chunks[index].isdigit() else None
            if prefixed is not None:
                account, index = prefixed
            elif positional_account and index + 1 < count and self._account_shaped(chunks[index]):
                account, index, from_position = chunks[index], index + 1, True
        groups: list[MeterEntry] = []
        services: frozenset[Service] | None = None
        marker: str | None = None
        ordinal: int | None = None
        values: list[ValueEntry] = []
        zone: Zone | None = None  # a named zone waiting for its value
        number = self._number
        while index < count:
            token = chunks[index]
            index += 1
            if (token.isdigit() and token.isascii()) or _NUMBER.match(token):
                if zone is not None:
                    values.append(ValueEntry(number(token, text), zone))
                    zone = None
                elif (
                    index - 1 in hashed
                    and index < count
                    and not values
                    and services is None
                    and ordinal is None
                    and len(token) <= 2
                    and token.isdigit()
                    and token[0] != "0"
                ):
                    ordinal = int(token)
                else:
                    values.append(ValueEntry(number(token, text), None))
                continue
            if _TUPLE.match(token):
                if zone is not None:
                    raise SmsParseError(ParseProblem.MIXED_VALUES, token=token, text=text)
                values.extend(ValueEntry(number(part, text), None) for part in token.split("/"))
                continue
            match = _WORDY.match(token)
            if match is None:
                raise SmsParseError(ParseProblem.UNEXPECTED, token=token, text=text)
            if zone is not None:
                raise SmsParseError(ParseProblem.MISSING_VALUE, token=zone.value, text=text)
            digits, word, tail = match.groups()
            if word == "T" and digits is None and tail in _ZONES:
                zone = _ZONES[tail]
                continue
            meant = self._markers.get(word)
            if meant is None:
                problem = ParseProblem.UNEXPECTED if word == "T" else ParseProblem.UNKNOWN_WORD
                raise SmsParseError(problem, token=token, text=text)
            if values or services is not None or ordinal is not None:
                groups.append(self._group(values, services, ordinal, marker, text))
            if len(groups) >= _MAX_METERS:
                raise SmsParseError(ParseProblem.TOO_LONG, token=token, text=text)
            services, marker, ordinal = meant, word, int(digits) if digits else None
            values = []
            if tail is not None:
                values.extend(ValueEntry(number(part, text), None) for part in tail.split("/"))
        if zone is not None:
            raise SmsParseError(ParseProblem.MISSING_VALUE, token=zone.value, text=text)
        if values or services is not None or ordinal is not None:
            groups.append(self._group(values, services, ordinal, marker, text))
        if not groups:
            raise SmsParseError(ParseProblem.MISSING_VALUE, token=chunks[-1], text=text)
        return Command(Intent.READING, account, tuple(groups), from_position)

    @staticmethod
    def _group(
        values: list[ValueEntry],
        services: frozenset[Service] | None,
        ordinal: int | None,
        marker: str | None,
        text: str,
    ) -> MeterEntry:
        """One meter's values, checked: some, not too many, all named or none."""
        token = marker or ""
        if not values:
            raise SmsParseError(ParseProblem.MISSING_VALUE, token=token, text=text)
        if len(values) > _MAX_VALUES:
            raise SmsParseError(ParseProblem.TOO_LONG, token=token, text=text)
        zones = [entry.zone for entry in values]
        if zones.count(None) != len(zones) and (None in zones or len(set(zones)) != len(zones)):
            raise SmsParseError(ParseProblem.MIXED_VALUES, token=token, text=text)
        return MeterEntry(tuple(values), services, ordinal, marker)


DEFAULT_GRAMMAR: Final = Grammar()


def parse_sms(
    text: str, grammar: Grammar = DEFAULT_GRAMMAR, *, positional_account: bool = True
) -> Command:
    """Read an SMS. Raises :class:`SmsParseError` (and nothing else) when it is no command.

    With ``positional_account=False`` a bare leading number is always a value,
    never the account: the reading of a phone bound to one account.
    """
    return grammar.parse(text, positional_account=positional_account)
