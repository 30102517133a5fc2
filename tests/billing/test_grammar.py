"""The SMS command grammar: the field examples of the spec, spelling variants, typed errors."""
# ruff: noqa: RUF001 - Cyrillic look-alikes are what these tests are about

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from billing_core import (
    Command,
    Grammar,
    Intent,
    MeterEntry,
    ParseProblem,
    Service,
    SettingsError,
    SmsParseError,
    ValueEntry,
    Zone,
    parse_sms,
)

D = Decimal
POWER = frozenset({Service.ELECTRICITY})
COLD = frozenset({Service.COLD_WATER})
HOT_OR_GAS = frozenset({Service.HOT_WATER, Service.GAS})


def values(*numbers: str) -> tuple[ValueEntry, ...]:
    return tuple(ValueEntry(D(n)) for n in numbers)


def one_meter(*numbers: str) -> tuple[MeterEntry, ...]:
    return (MeterEntry(values(*numbers)),)


# The "examples seen in the field" column of the spec, with what each means.
FIELD_EXAMPLES = {
    "1234567833 1234": Command(Intent.READING, "1234567833", one_meter("1234"), True),
    "ПОК 1234567833 1234": Command(Intent.READING, "1234567833", one_meter("1234"), True),
    "LECTURA 556677 01234": Command(Intent.READING, "556677", one_meter("1234"), True),
    "1234": Command(Intent.READING, None, one_meter("1234")),
    "1234567833 1234 187": Command(Intent.READING, "1234567833", one_meter("1234", "187"), True),
    "102055 Т1 12345 Т2 6789": Command(
        Intent.READING,
        "102055",
        (MeterEntry((ValueEntry(D(12345), Zone.T1), ValueEntry(D(6789), Zone.T2))),),
        True,
    ),
    "1#1250/1730": Command(Intent.READING, None, (MeterEntry(values("1250", "1730"), None, 1),)),
    "ЖКХ 123456 Х 56.8 Г 47.3": Command(
        Intent.READING,
        "123456",
        (
            MeterEntry(values("56.8"), COLD, None, "X"),
            MeterEntry(values("47.3"), HOT_OR_GAS, None, "Г"),
        ),
        True,
    ),
    "102055 1Э12345 1Г321": Command(
        Intent.READING,
        "102055",
        (MeterEntry(values("12345"), POWER, 1, "Э"), MeterEntry(values("321"), HOT_OR_GAS, 1, "Г")),
        True,
    ),
    "БАЛ 123456789": Command(Intent.BALANCE, "123456789"),
    "BAL": Command(Intent.BALANCE),
    "SALDO 556677": Command(Intent.BALANCE, "556677"),
    "БАЛАНС": Command(Intent.BALANCE),
    "HELP": Command(Intent.HELP),
    "?": Command(Intent.HELP),
    "ПОМОЩЬ": Command(Intent.HELP),
    "AYUDA": Command(Intent.HELP),
    "ПОМОЩ": Command(Intent.HELP),
    "STOP": Command(Intent.STOP),
    "СТОП": Command(Intent.STOP),
    "BAJA": Command(Intent.STOP),
    "START": Command(Intent.START),
    "ДА": Command(Intent.CONFIRM),
    "YES": Command(Intent.CONFIRM),
    "SÍ": Command(Intent.CONFIRM),
}


@pytest.mark.parametrize("text", list(FIELD_EXAMPLES))
def test_field_examples(text: str) -> None:
    assert parse_sms(text) == FIELD_EXAMPLES[text]


@pytest.mark.parametrize(
    ("variant", "original"),
    [
        ("102055 T1 12345 T2 6789", "102055 Т1 12345 Т2 6789"),  # Latin T
        ("102055 т1 12345 т2 6789", "102055 Т1 12345 Т2 6789"),  # lower case
        ("102055#Т1#12345#Т2#6789", "102055 Т1 12345 Т2 6789"),  # separators
        ("102055*Т1*12345*Т2*6789", "102055 Т1 12345 Т2 6789"),
        ("  102055   Т1  12345\nТ2\t6789 ", "102055 Т1 12345 Т2 6789"),
        ("ЖКХ 123456 X 56,8 Г 47,3", "ЖКХ 123456 Х 56.8 Г 47.3"),  # Latin X, decimal comma
        ("жкх 123456 х 56.8 г 47.3", "ЖКХ 123456 Х 56.8 Г 47.3"),
        ("ЖKX 123456 Х 56.8 Г 47.3", "ЖКХ 123456 Х 56.8 Г 47.3"),  # Latin K and X in a keyword
        ("CTOП", "СТОП"),  # Latin C, T, O in a Cyrillic word
        ("ctoп", "СТОП"),
        ("si", "SÍ"),
        ("ДA", "ДА"),  # Latin A
        ("bal.", "BAL"),
        ("ПOK 1234567833 1234", "ПОК 1234567833 1234"),  # Latin O
        ("LECTURA 556677 1234", "LECTURA 556677 01234"),  # leading zeros
        ("ЛС1234567833 1234", "ЛС 1234567833 1234"),
        ("№1234567833 1234", "ЛС 1234567833 1234"),
    ],
)
def test_spelling_variants_mean_the_same(variant: str, original: str) -> None:
    first = parse_sms(variant)
    second = parse_sms(original)
    assert first.intent == second.intent
    assert first.account_number == second.account_number
    assert [m.values for m in first.meters] == [m.values for m in second.meters]
    assert [m.services for m in first.meters] == [m.services for m in second.meters]


def test_a_prefixed_account_is_not_positional() -> None:
    assert parse_sms("ЛС 12345 6789").account_from_position is False
    assert parse_sms("12345 6789").account_from_position is True


def test_positional_account_off_reads_every_number_as_a_value() -> None:
    command = parse_sms("12150 5080", positional_account=False)
    assert command.account_number is None
    assert command.meters == one_meter("12150", "5080")


def test_short_leading_numbers_are_values_not_accounts() -> None:
    # Accounts are 5-12 digits by default: 1234 is a reading.
    assert parse_sms("1234 187") == Command(Intent.READING, None, one_meter("1234", "187"))
    narrow = Grammar(account_digits=(10, 10))
    assert narrow.parse("123456 187").account_number is None
    assert narrow.parse("1234567890 187").account_number == "1234567890"


def test_stop_is_never_lost_to_what_follows() -> None:
    assert parse_sms("STOP please!!").intent is Intent.STOP
    assert parse_sms("СТОП 1234567 спасибо").account_number == "1234567"


def test_aliases_add_command_words() -> None:
    grammar = Grammar({"ОТПРАВИТЬ": Intent.READING, "ОСТАТОК": Intent.BALANCE})
    assert grammar.parse("остаток").intent is Intent.BALANCE
    assert grammar.parse("отправить 123456 12").account_number == "123456"


@pytest.mark.parametrize(
    "aliases",
    [{"STOP": Intent.START}, {"Х": Intent.HELP}, {"ЛС": Intent.BALANCE}, {"A1": Intent.HELP}],
)
def test_aliases_that_would_confuse_the_grammar_are_refused(aliases: dict[str, Intent]) -> None:
    with pytest.raises(SettingsError):
        Grammar(aliases)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", ParseProblem.EMPTY),
        ("  #*  ", ParseProblem.EMPTY),
        ("hello", ParseProblem.UNKNOWN_WORD),
        ("ПОК", ParseProblem.MISSING_VALUE),
        ("102055 Т1", ParseProblem.MISSING_VALUE),
        ("102055 Т1 Т2 6789", ParseProblem.MISSING_VALUE),
        ("102055 12345 Т2 6789", ParseProblem.MIXED_VALUES),
        ("102055 Т1 5 Т1 6", ParseProblem.MIXED_VALUES),
        ("102055 Т112345", ParseProblem.UNEXPECTED),
        ("12.345.6", ParseProblem.UNEXPECTED),
        ("1" * 16, ParseProblem.BAD_NUMBER),
        ("БАЛ 12", ParseProblem.UNEXPECTED),
        ("ДА ДА", ParseProblem.UNEXPECTED),
        ("Х 1 2 3 4 5", ParseProblem.TOO_LONG),
        ("1" * 500, ParseProblem.TOO_LONG),
    ],
)
def test_failures_are_typed(text: str, problem: ParseProblem) -> None:
    with pytest.raises(SmsParseError) as raised:
        parse_sms(text)
    assert raised.value.problem is problem
    assert raised.value.text == text


def test_numbers_are_decimal_exactly() -> None:
    command = parse_sms("Х 0,1 Г 47.30")
    assert command.meters[0].values[0].value == D("0.1")
    assert str(command.meters[1].values[0].value) == "47.30"


# -- properties ---------------------------------------------------------------

FRAGMENTS = st.sampled_from(
    [
        "ПОК", "БАЛ", "STOP", "СТОП", "ДА", "SÍ", "?", "ЛС", "№", "Т1", "T2", "t3", "Т4",
        "Х", "Г", "1Э", "12Г", "ГАЗ", "ЖКХ", "LECTURA", "#", "*", " ", ",", ".", "/", "\x00",
        "\u200b", "ﬁ", "²", "٣", "1234567890", "0", "01234", "56,8", "5.6.7", "99/88",
        "1#", "1/2/3/4/5", "Й", "ё",
    ]
)  # fmt: skip
COMMANDISH = st.lists(st.one_of(FRAGMENTS, st.integers(0, 10**13).map(str)), max_size=12).map(
    "".join
)


@given(st.one_of(st.text(), COMMANDISH, st.text(alphabet="0123456789 #*.,/ТтXxГЭ", max_size=40)))
@example("\x00\x01\x02")
@example("Т1 12345 Т2 " + "9" * 20)
@example("ЛСЛС")
def test_parser_raises_only_its_typed_error(text: str) -> None:
    try:
        command = parse_sms(text)
    except SmsParseError as error:
        assert isinstance(error.problem, ParseProblem)
        return
    assert isinstance(command.intent, Intent)
    for meter in command.meters:
        assert meter.values
        assert all(value.value >= 0 for value in meter.values)


LOOKALIKES = str.maketrans("ATXHAEOPCKM", "АТХНАЕОРСКМ")


@given(COMMANDISH)
def test_latin_and_cyrillic_look_alikes_parse_the_same(text: str) -> None:
    def outcome(candidate: str) -> object:
        try:
            return parse_sms(candidate)
        except SmsParseError as error:
            return error.problem

    assert outcome(text.upper().translate(LOOKALIKES)) == outcome(text.upper())
    assert outcome(text.lower()) == outcome(text.upper())


# -- phones without Cyrillic ------------------------------------------------------------

# Each Cyrillic command word and the ways a phone without Cyrillic spells it.
TRANSLITERATED = {
    "ПОК": ("POK",),
    "ПОКАЗАНИЯ": ("POKAZANIYA", "POKAZANIJA", "POKAZANIA"),
    "ПОКАЗАНИЕ": ("POKAZANIE",),
    "ЖКХ": ("ZHKH", "ZhKKh", "JKH"),
    "ОТЧИТАНЕ": ("OTCHITANE",),
    "БАЛАНС": ("BALANS", "balans"),
    "ДОЛГ": ("DOLG",),
    "ЗАДЪЛЖЕНИЕ": ("ZADALZHENIE", "ZADULZHENIE"),
    "ПОМОЩЬ": ("POMOSHCH", "POMOSCH", "POMOSH"),
    "ПОМОЩ": ("POMOSHT",),
    "СПРАВКА": ("SPRAVKA",),
    "ОТПИСКА": ("OTPISKA",),
}


@pytest.mark.parametrize(
    ("cyrillic", "latin"),
    [(word, latin) for word, spellings in TRANSLITERATED.items() for latin in spellings],
)
def test_a_command_word_spelled_in_latin_letters_means_the_same(cyrillic: str, latin: str) -> None:
    meant = parse_sms(f"{cyrillic} 123456")
    assert parse_sms(f"{latin} 123456") == meant
    if meant.intent is Intent.READING:
        assert parse_sms(f"{latin} 123456 1234") == parse_sms(f"{cyrillic} 123456 1234")


# Each Cyrillic meter label and its Latin spellings, with what they can mean.
LATIN_MARKERS = {
    "Э": (("E", "ELEKTRO", "ELECTRO"), POWER),
    "Х": (("H", "KH"), COLD),
    "ХВ": (("HV", "XV", "KHV"), COLD),
    "ХВС": (("HVS", "XVS", "KHVS"), COLD),
    "СВ": (("SV",), COLD),
    "ГВ": (("GV",), frozenset({Service.HOT_WATER})),
    "ГВС": (("GVS",), frozenset({Service.HOT_WATER})),
    "ТВ": (("TV",), frozenset({Service.HOT_WATER})),
    "Г": (("G",), HOT_OR_GAS),
    "ГАЗ": (("GAZ",), frozenset({Service.GAS})),
    "ОТОПЛ": (("OTOPL",), frozenset({Service.HEATING})),
}


@pytest.mark.parametrize(
    ("cyrillic", "latin", "services"),
    [
        (label, latin, services)
        for label, (spellings, services) in LATIN_MARKERS.items()
        for latin in spellings
    ],
)
def test_a_meter_label_spelled_in_latin_letters_can_mean_what_the_cyrillic_one_does(
    cyrillic: str, latin: str, services: frozenset[Service]
) -> None:
    (written,) = parse_sms(f"123456 {latin} 56.8").meters
    (meant,) = parse_sms(f"123456 {cyrillic} 56.8").meters
    assert written.services == meant.services == services
    assert written.values == meant.values == values("56.8")


def test_a_field_example_typed_without_cyrillic_reads_as_the_cyrillic_one() -> None:
    latin = parse_sms("ZHKH 123456 H 56.8 G 47.3")
    assert latin.account_number == "123456"
    assert [(m.services, m.values) for m in latin.meters] == [
        (COLD, values("56.8")),
        (HOT_OR_GAS, values("47.3")),
    ]
    assert [m.ordinal for m in parse_sms("102055 1E12345 1G321").meters] == [1, 1]


def test_a_utility_word_cannot_take_a_transliterated_label() -> None:
    with pytest.raises(SettingsError) as caught:
        Grammar({"GV": Intent.BALANCE})
    assert caught.value.field == "command_aliases"
