"""Reply texts: one SMS with the longest realistic values, in every language and kind."""
# ruff: noqa: RUF001 - Russian and Bulgarian texts are the data under test

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing_core import (
    DEFAULT_GRAMMAR,
    Language,
    Meter,
    MoneyFormat,
    Register,
    Rejection,
    ReplyKind,
    Service,
    Zone,
    parse_sms,
    render,
    resolve,
)
from billing_core.replies import (
    MARKER_TEXT,
    SERVICE_NAMES,
    TEMPLATES,
    balance_text,
    day_text,
    example_text,
    number_text,
    register_text,
    usage_text,
    values_text,
    zone_text,
)
from billing_core.settings import MAX_REGISTRATION_HINT
from smpp_engine.protocol.coding import Alphabet
from smpp_engine.protocol.segmentation import plan_text

from .builders import SIZER, D, single_meter, two_zone_meter

LONGEST_ACCOUNT = "9" * 12  # the grammar's longest account number
# Four characters, the most a money format allows.
LONGEST_SYMBOL = {
    Language.RU: MoneyFormat(symbol="руб."),
    Language.BG: MoneyFormat(symbol="лева"),
    Language.ES: MoneyFormat(symbol="EUR."),
    Language.EN: MoneyFormat(symbol="GBP.", decimal_separator="."),
}
HINT = "x" * MAX_REGISTRATION_HINT
DEBT = D("9999999.99")  # a ten-million debt: beyond any household's
ROUNDING = __import__("billing_core").HALF_UP


def three_zone(meter_id: int, service: Service) -> Meter:
    registers = tuple(Register(meter_id * 10 + i, zone) for i, zone in enumerate(Zone))
    return Meter(meter_id, f"M{meter_id}", 1, service, registers, digits=6, decimals=1)


METERS = (
    three_zone(1, Service.ELECTRICITY),
    three_zone(2, Service.COLD_WATER),
    three_zone(3, Service.HOT_WATER),
)


#: The longest meter serial the meter verification texts are held to.
LONGEST_SERIAL = "ABCD-12345678901"


def worst_fields(language: Language) -> dict[str, str]:
    money_format = LONGEST_SYMBOL[language]
    money = money_format(DEBT, ROUNDING)
    big = number_text(D("999999.9"), language)
    readings = [(meter, [(zone, D("999999.9")) for zone in Zone]) for meter in METERS]
    return {
        "account": LONGEST_ACCOUNT,
        "values": values_text(language, readings),
        "usage": usage_text(language, Service.ELECTRICITY, D("99999.9")),
        "balance": balance_text(language, DEBT, date(2024, 12, 15), money_format, ROUNDING),
        "hours": "168",
        "label": f"{MARKER_TEXT[language][Service.GAS]} {zone_text(Zone.T3, language)} ",
        "value": big,
        "previous": big,
        "first": "15",
        "last": "25",
        "example": example_text(language, METERS, LONGEST_ACCOUNT),
        "register": register_text(language, HINT),
        "paid": money,
        "money": money,
        "due": "15.12",
        "days": "20",
        "service": max(SERVICE_NAMES[language].values(), key=len),
        "meter": LONGEST_SERIAL,
    }


CASES = [(language, kind) for language in Language for kind in ReplyKind]


@pytest.mark.parametrize(
    ("language", "kind"), CASES, ids=[f"{lang.value}-{kind.value}" for lang, kind in CASES]
)
def test_every_reply_fits_one_sms_with_the_longest_values(
    language: Language, kind: ReplyKind
) -> None:
    reply = render(kind, language, worst_fields(language), SIZER)
    plan = plan_text(reply.text)
    assert plan.parts == 1, (len(reply.text), reply.text)
    assert reply.parts == 1


@pytest.mark.parametrize("language", [Language.ES, Language.EN])
def test_spanish_and_english_replies_stay_in_gsm7(language: Language) -> None:
    fields = worst_fields(language)
    for kind in ReplyKind:
        for template in TEMPLATES[language][kind]:
            text = template.format_map(fields)
            assert plan_text(text).alphabet is Alphabet.GSM7, text


def test_every_kind_has_texts_in_every_language() -> None:
    for language in Language:
        assert set(TEMPLATES[language]) == set(ReplyKind)


def test_the_spec_example_is_62_ucs2_units() -> None:
    reply = render(
        ReplyKind.READING_ACCEPTED,
        Language.RU,
        {
            "account": "1234567890",
            "values": "Т1 12150 Т2 5080",
            "usage": "230 кВт·ч",
            "balance": balance_text(
                Language.RU, D("1027.20"), date(2024, 4, 15), MoneyFormat(), ROUNDING
            ),
        },
        SIZER,
    )
    assert reply.text == "ЛС1234567890 приняты Т1 12150 Т2 5080. Долг 1027,20 р до 15.04"
    assert reply.alphabet is Alphabet.UCS2
    assert plan_text(reply.text).units == 62


def test_a_reply_falls_back_to_a_shorter_variant_only_when_needed() -> None:
    fields = {
        "account": "123456",
        "values": "12150",
        "usage": "150 кВт·ч",
        "balance": "Долга нет",
    }
    assert render(ReplyKind.READING_ACCEPTED, Language.RU, fields, SIZER).text == (
        "ЛС123456 приняты 12150, расход 150 кВт·ч. Долга нет"
    )


def test_money_in_replies_uses_the_utility_format() -> None:
    ru = balance_text(Language.RU, D("1027.2"), date(2024, 4, 15), MoneyFormat(), ROUNDING)
    assert ru == "Долг 1027,20 р до 15.04"
    euro = MoneyFormat(
        symbol="€", decimal_separator=".", group_separator=",", symbol_first=True, space=False
    )
    en = balance_text(Language.EN, D("-1234.5"), None, euro, ROUNDING)
    assert en == "In credit €1,234.50"
    assert balance_text(Language.ES, D(0), None, MoneyFormat(symbol="EUR"), ROUNDING) == "Sin deuda"


def test_numbers_keep_their_decimals_in_the_local_mark() -> None:
    assert number_text(D("56.8"), Language.RU) == "56,8"
    assert number_text(D("56.8"), Language.EN) == "56.8"
    assert number_text(D("12150.000"), Language.RU) == "12150"
    assert number_text(D("1.5E+3"), Language.EN) == "1500"
    assert number_text(D("0001234"), Language.ES) == "1234"


@pytest.mark.parametrize("language", list(Language))
@pytest.mark.parametrize(
    "meters",
    [
        (single_meter(),),
        (two_zone_meter(),),
        (single_meter(3, Service.COLD_WATER), single_meter(4, Service.HOT_WATER)),
        (two_zone_meter(1), single_meter(4, Service.GAS), single_meter(5, Service.GAS)),
        METERS,
    ],
    ids=["single", "two-zone", "water", "power-and-two-gas", "three-zone-each"],
)
def test_examples_parse_back_to_the_meters_they_describe(
    language: Language, meters: tuple[Meter, ...]
) -> None:
    example = example_text(language, meters, "123456")
    command = parse_sms(example, DEFAULT_GRAMMAR)
    assert command.account_number == "123456"
    placed = resolve(meters, command.meters, "123456")
    assert not isinstance(placed, Rejection), placed
    assert {s.meter.id for s in placed} == {m.id for m in meters[:3]}


@pytest.mark.parametrize("language", list(Language))
def test_help_names_commands_the_grammar_knows(language: Language) -> None:
    text = render(ReplyKind.HELP, language, {}, SIZER).text
    for word in ("БАЛ", "СТОП", "BAL", "SALDO", "STOP", "BAJA", "START", "ALTA", "HELP", "AYUDA"):
        if word in text:
            assert parse_sms(word).intent is not None


def test_register_hint_or_contact() -> None:
    assert register_text(Language.RU, "lk.acme.ru") == "Регистрация: lk.acme.ru"
    assert register_text(Language.EN, "") == "Please contact your utility"


def test_values_name_meters_only_when_there_are_several() -> None:
    one = [(two_zone_meter(), [(Zone.T1, Decimal(12150)), (Zone.T2, Decimal(5080))])]
    assert values_text(Language.RU, one) == "Т1 12150 Т2 5080"
    assert values_text(Language.EN, one) == "T1 12150 T2 5080"
    water = [
        (single_meter(3, Service.COLD_WATER), [(Zone.T0, D("56.8"))]),
        (single_meter(4, Service.HOT_WATER), [(Zone.T0, D("47.3"))]),
    ]
    assert values_text(Language.RU, water) == "ХВ 56,8 ГВ 47,3"


@given(
    language=st.sampled_from(Language),
    account=st.from_regex(r"[0-9]{1,12}", fullmatch=True),
    debt=st.decimals(D("0.01"), DEBT, places=2),
    due=st.dates(date(2000, 1, 1), date(2099, 12, 31)),
)
def test_a_payment_reminder_is_one_sms_with_the_account_when_it_fits(
    language: Language, account: str, debt: Decimal, due: date
) -> None:
    money_format = LONGEST_SYMBOL[language]
    fields = {
        "account": account,
        "money": money_format(debt, ROUNDING),
        "due": day_text(due, language),
    }
    reply = render(ReplyKind.PAYMENT_REMINDER, language, fields, SIZER)
    assert plan_text(reply.text).parts == 1, reply.text
    assert fields["money"] in reply.text and fields["due"] in reply.text
    variants = TEMPLATES[language][ReplyKind.PAYMENT_REMINDER]
    with_account = [v.format_map(fields) for v in variants if "{account}" in v]
    if any(plan_text(text).parts == 1 for text in with_account):
        assert account in reply.text  # the account is dropped only when it does not fit


@pytest.mark.parametrize(
    ("language", "text"),
    [
        (Language.RU, "ЛС1234567890: напоминаем, оплатите 2500,00 р до 15.04"),
        (Language.BG, "Аб.1234567890: напомняме, платете 2500,00 лв до 15.04"),
        (Language.ES, "Cta 1234567890: le recordamos que debe pagar 2500,00 EUR antes del 15/04"),
        (Language.EN, "Acc 1234567890: a reminder to pay GBP2,500.00 by 15/04"),
    ],
)
def test_a_payment_reminder_names_the_account_the_money_and_the_due_date(
    language: Language, text: str
) -> None:
    money_format = {
        Language.RU: MoneyFormat(symbol="р"),
        Language.BG: MoneyFormat(symbol="лв"),
        Language.ES: MoneyFormat(symbol="EUR"),
        Language.EN: MoneyFormat(
            symbol="GBP", decimal_separator=".", group_separator=",", symbol_first=True, space=False
        ),
    }[language]
    fields = {
        "account": "1234567890",
        "money": money_format(D("2500"), ROUNDING),
        "due": day_text(date(2024, 4, 15), language),
    }
    assert render(ReplyKind.PAYMENT_REMINDER, language, fields, SIZER).text == text


@given(
    language=st.sampled_from(Language),
    account=st.from_regex(r"[0-9]{1,12}", fullmatch=True),
    serial=st.from_regex(r"[A-Z0-9-]{1,16}", fullmatch=True),
    due=st.dates(date(2000, 1, 1), date(2099, 12, 31)),
)
def test_a_verification_invitation_is_one_sms_with_the_meter_when_it_fits(
    language: Language, account: str, serial: str, due: date
) -> None:
    fields = {"account": account, "meter": serial, "due": day_text(due, language)}
    reply = render(ReplyKind.METER_VERIFICATION, language, fields, SIZER)
    assert plan_text(reply.text).parts == 1, reply.text
    assert fields["due"] in reply.text
    variants = TEMPLATES[language][ReplyKind.METER_VERIFICATION]
    with_meter = [v.format_map(fields) for v in variants if "{meter}" in v]
    if any(plan_text(text).parts == 1 for text in with_meter):
        assert serial in reply.text  # the meter is dropped only when it does not fit


@pytest.mark.parametrize(
    ("language", "text"),
    [
        (Language.RU, "ЛС1234567890: поверка счетчика CE-00417 до 30.06. Закажите поверку"),
        (Language.BG, "Аб.1234567890: проверка на уред CE-00417 до 30.06. Заявете проверка"),
        (
            Language.ES,
            "Cta 1234567890: su contador CE-00417 debe verificarse antes del 30/06. "
            "Solicite la verificacion",
        ),
        (
            Language.EN,
            "Acc 1234567890: meter CE-00417 is due for verification by 30/06. "
            "Please book a verification",
        ),
    ],
)
def test_a_verification_invitation_names_the_account_the_meter_and_the_date(
    language: Language, text: str
) -> None:
    fields = {
        "account": "1234567890",
        "meter": "CE-00417",
        "due": day_text(date(2031, 6, 30), language),
    }
    assert render(ReplyKind.METER_VERIFICATION, language, fields, SIZER).text == text
