"""One SMS in, one outcome out: the spec's round trip, in the spec's order of checks."""
# ruff: noqa: RUF001 - Russian texts are test data

from __future__ import annotations

import decimal
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, localcontext

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing_core import (
    BillingError,
    Flat,
    Intent,
    Language,
    MoneyFormat,
    OpenItem,
    Outcome,
    OutcomeStatus,
    Period,
    ReadingContext,
    ReadingSource,
    ReadingStatus,
    ReadingWindow,
    RegisterHistory,
    Rejection,
    RejectionReason,
    Reply,
    ReplyKind,
    Service,
    SmsParseError,
    TariffError,
    TariffVersion,
    WindowPolicy,
    Zone,
    account_hint,
    process_sms,
)
from billing_core.model import Meter, Register
from smpp_engine.protocol.coding import Alphabet

from .builders import (
    ACCOUNT,
    ELECTRICITY_ZONED,
    MSISDN,
    NOW,
    SIZER,
    D,
    context,
    monthly,
    reading,
    single_meter,
    snapshot,
    two_zone_context,
    two_zone_meter,
)
from .builders import (
    settings as utility,
)

LAST_MONTH = NOW - timedelta(days=30)


def run(ctx: ReadingContext, text: str, now: datetime = NOW, mo: str = "mo-1") -> Outcome:
    return process_sms(ctx, text, mo_message_id=mo, now=now, sizer=SIZER)


def reply(outcome: Outcome) -> Reply:
    assert outcome.reply is not None, outcome
    return outcome.reply


def rejection(outcome: Outcome) -> Rejection:
    assert outcome.rejection is not None, outcome
    return outcome.rejection


# -- the spec's reading --------------------------------------------------------


def test_the_spec_reading_bills_1027_20_and_replies_in_one_sms() -> None:
    outcome = run(two_zone_context(), "1234567890 12150 5080")
    assert outcome.status is OutcomeStatus.ACCEPTED
    assert reply(outcome).text == "ЛС1234567890 приняты Т1 12150 Т2 5080. Долг 1027,20 р до 15.04"
    assert reply(outcome).parts == 1
    assert reply(outcome).alphabet is Alphabet.UCS2
    (charge,) = outcome.charges
    assert charge.amount == D("1027.20")
    assert [(line.label, line.quantity, line.price, line.amount) for line in charge.lines] == [
        ("T1", D(150), D("5.92"), D("888.00")),
        ("T2", D(80), D("1.74"), D("139.20")),
    ]
    assert charge.period == Period(2024, 3)
    assert charge.due_date == date(2024, 4, 15)
    assert (charge.start, charge.end) == (date(2024, 2, 19), date(2024, 3, 20))
    assert outcome.balance_after == D("1027.20")
    assert [(r.register_id, r.value, r.status, r.mo_message_id) for r in outcome.readings] == [
        (11, D(12150), ReadingStatus.ACCEPTED, "mo-1"),
        (12, D(5080), ReadingStatus.ACCEPTED, "mo-1"),
    ]
    assert all(r.source is ReadingSource.SMS and r.taken_at == NOW for r in outcome.readings)
    assert outcome.intent is Intent.READING
    assert outcome.account_number == ACCOUNT


@pytest.mark.parametrize(
    "text",
    [
        "ПОК 1234567890 12150 5080",
        "1234567890 Т1 12150 Т2 5080",
        "1234567890#12150#5080",
        "ЛС1234567890 t1 12150 t2 05080",
        "12150 5080",  # the phone is bound to one account: no account needed
        "Т1 12150 Т2 5080",
        "1#12150/5080",
    ],
)
def test_the_same_reading_spelled_differently(text: str) -> None:
    outcome = run(two_zone_context(), text)
    assert outcome.status is OutcomeStatus.ACCEPTED, outcome
    assert outcome.charges[0].amount == D("1027.20")


def test_the_account_hint_names_what_to_load() -> None:
    config = utility()
    assert account_hint("ПОК 1234567890 12150 5080", config) == ACCOUNT
    assert account_hint("Т1 12150 Т2 5080", config) is None
    assert account_hint("garbage ###", config) is None


def test_an_existing_debt_keeps_its_due_date() -> None:
    ctx = two_zone_context()
    assert ctx.account is not None
    owed = snapshot(
        ctx.account.meters,
        ctx.account.history.values(),
        balance=D("500.00"),
        open_items=[OpenItem(Period(2024, 2), D("500.00"), D(0), date(2024, 3, 15))],
    )
    outcome = run(context(owed), "12150 5080")
    assert outcome.balance_after == D("1527.20")
    assert reply(outcome).text.endswith("Долг 1527,20 р до 15.03")


def test_a_spanish_account_gets_a_gsm_reply_in_its_money_format() -> None:
    meter = single_meter(3)
    history = RegisterHistory(30, monthly(30, [1000, 1100, 1200], LAST_MONTH))
    account = snapshot(
        [meter],
        [history],
        tariffs=[TariffVersion(2, Service.ELECTRICITY, Flat(D("0.25")), date(2024, 1, 1))],
        language=Language.ES,
        number="556677",
    )
    config = utility(money_format=MoneyFormat(symbol="EUR"), time_zone="Europe/Madrid")
    outcome = run(context(account, config=config), "LECTURA 556677 01350")
    assert (
        reply(outcome).text
        == "Cta 556677: lectura 1350 recibida, consumo 150 kWh. Deuda 37,50 EUR, vence 15/04"
    )
    assert reply(outcome).alphabet is Alphabet.GSM7


# -- 1. the MSISDN must be bound ------------------------------------------------------


def test_an_unregistered_phone_is_told_how_to_register_whatever_it_sent() -> None:
    for text in ("1234567890 12150 5080", "hello", "", "STOP"):
        outcome = run(context(None, bindings=[]), text)
        assert outcome.status is OutcomeStatus.REJECTED
        assert rejection(outcome).reason is RejectionReason.NOT_REGISTERED
        assert reply(outcome).text == "Номер не привязан к лицевому счету. Регистрация: lk.acme.ru"
        assert not outcome.readings and not outcome.charges and outcome.opt_out is None


def test_a_phone_not_bound_to_the_named_account() -> None:
    outcome = run(two_zone_context(), "ЛС7777777777 12150 5080")
    assert rejection(outcome).reason is RejectionReason.NOT_BOUND
    assert rejection(outcome).account_number == "7777777777"
    assert "7777777777" in reply(outcome).text


def test_a_phone_bound_to_several_accounts_must_name_one() -> None:
    ctx = two_zone_context(bindings=[ACCOUNT, "5555555555"])
    outcome = run(ctx, "12150 5080")
    assert rejection(outcome).reason is RejectionReason.ACCOUNT_REQUIRED
    assert reply(outcome).text.startswith("Укажите номер ЛС. Пример: 1234567890 ")
    assert run(ctx, "1234567890 12150 5080").status is OutcomeStatus.ACCEPTED


# -- 2. the text must parse ---------------------------------------------------------


def test_a_parse_failure_replies_with_one_correct_example_for_the_meter() -> None:
    outcome = run(two_zone_context(), "покозания 12150")
    assert outcome.status is OutcomeStatus.NOT_UNDERSTOOD
    assert isinstance(outcome.error, SmsParseError)
    assert reply(outcome).text == "Не понял. Пример: Т1 12345 Т2 6789"
    assert not outcome.readings


# -- 3. account, meter and register must exist -----------------------------------------


def test_values_that_fit_no_register_reply_with_an_example() -> None:
    outcome = run(two_zone_context(), "1234567890 12150")
    assert rejection(outcome).reason is RejectionReason.WRONG_VALUE_COUNT
    assert reply(outcome).text == "ЛС1234567890: не понял, какой счетчик. Пример: Т1 12345 Т2 6789"


def test_a_closed_account() -> None:
    ctx = two_zone_context()
    assert ctx.account is not None
    closed = snapshot(ctx.account.meters, ctx.account.history.values(), closed=True)
    outcome = run(context(closed), "12150 5080")
    assert rejection(outcome).reason is RejectionReason.ACCOUNT_CLOSED


def test_the_store_must_load_the_account_the_sms_is_for() -> None:
    ctx = context(None, bindings=[ACCOUNT])
    outcome = run(ctx, "12150 5080")
    assert outcome.status is OutcomeStatus.FAILED
    assert isinstance(outcome.error, BillingError)
    assert outcome.error.account_number == ACCOUNT


# -- 4. the reading window -------------------------------------------------------------


def test_outside_the_window_a_reading_counts_for_the_next_period() -> None:
    late = datetime(2024, 3, 27, 9, tzinfo=UTC)
    outcome = run(two_zone_context(), "12150 5080", now=late)
    assert outcome.status is OutcomeStatus.ACCEPTED
    assert {r.period for r in outcome.readings} == {Period(2024, 4)}
    assert outcome.charges[0].period == Period(2024, 4)
    assert reply(outcome).text.endswith("до 15.05")


def test_outside_the_window_a_reading_may_be_refused() -> None:
    config = utility(reading_window=ReadingWindow(15, 25, WindowPolicy.REFUSE))
    late = datetime(2024, 3, 27, 9, tzinfo=UTC)
    outcome = run(two_zone_context(config=config), "12150 5080", now=late)
    assert rejection(outcome).reason is RejectionReason.WINDOW_CLOSED
    assert reply(outcome).text == "Показания принимаются с 15 по 25 число месяца"


def test_the_window_is_read_on_the_utility_clock() -> None:
    config = utility(reading_window=ReadingWindow(15, 25, WindowPolicy.REFUSE))
    # 25 March 22:30 UTC is already 26 March in Moscow.
    evening = datetime(2024, 3, 25, 22, 30, tzinfo=UTC)
    outcome = run(two_zone_context(config=config), "12150 5080", now=evening)
    assert rejection(outcome).reason is RejectionReason.WINDOW_CLOSED


def test_an_unknown_meter_is_reported_before_a_closed_window() -> None:
    config = utility(reading_window=ReadingWindow(15, 25, WindowPolicy.REFUSE))
    late = datetime(2024, 3, 27, 9, tzinfo=UTC)
    outcome = run(two_zone_context(config=config), "1234567890 12150", now=late)
    assert rejection(outcome).reason is RejectionReason.WRONG_VALUE_COUNT


# -- 5. not lower than the previous reading -------------------------------------------


def test_a_lower_reading_is_refused_and_kept_as_rejected() -> None:
    outcome = run(two_zone_context(), "12150 4999")
    assert rejection(outcome).reason is RejectionReason.LOWER_THAN_PREVIOUS
    assert (rejection(outcome).zone, rejection(outcome).value, rejection(outcome).previous) == (
        Zone.T2,
        D(4999),
        D(5000),
    )
    assert reply(outcome).text == "ЛС1234567890: Т2 4999 меньше прежних 5000. Проверьте"
    assert {r.status for r in outcome.readings} == {ReadingStatus.REJECTED}
    assert not outcome.charges


def test_a_closed_window_is_reported_before_a_lower_reading() -> None:
    config = utility(reading_window=ReadingWindow(15, 25, WindowPolicy.REFUSE))
    late = datetime(2024, 3, 27, 9, tzinfo=UTC)
    outcome = run(two_zone_context(config=config), "12150 4999", now=late)
    assert rejection(outcome).reason is RejectionReason.WINDOW_CLOSED


def test_a_lower_register_is_reported_before_an_implausible_one() -> None:
    outcome = run(two_zone_context(), "19000 4999")
    assert rejection(outcome).reason is RejectionReason.LOWER_THAN_PREVIOUS
    assert rejection(outcome).zone is Zone.T2


def rollover_context() -> ReadingContext:
    meter = single_meter(3, Service.COLD_WATER, digits=5)
    history = RegisterHistory(30, monthly(30, [99650, 99800, 99950], LAST_MONTH))
    tariff = TariffVersion(5, Service.COLD_WATER, Flat(D("30.00")), date(2024, 1, 1))
    return context(snapshot([meter], [history], tariffs=[tariff]))


def test_a_rollover_is_billed_170_units() -> None:
    outcome = run(rollover_context(), "00120")
    assert outcome.status is OutcomeStatus.ACCEPTED
    (line,) = outcome.charges[0].lines
    assert (line.quantity, line.amount) == (D(170), D("5100.00"))
    assert "расход 170 м³" in reply(outcome).text


# -- 6. plausible, else confirmation ----------------------------------------------------


def test_an_implausible_reading_waits_for_confirmation_instead_of_being_billed() -> None:
    outcome = run(two_zone_context(), "19000 5080")
    assert outcome.status is OutcomeStatus.AWAITING_CONFIRMATION
    assert {r.status for r in outcome.readings} == {ReadingStatus.AWAITING_CONFIRMATION}
    assert not outcome.charges
    assert reply(outcome).text == "Т1 19000 Т2 5080 выше обычного. Верно? Ответьте ДА за 24 ч"


def pending_context(received: datetime = NOW - timedelta(hours=1)) -> ReadingContext:
    """The spec's account with T1 19000 / T2 5080 awaiting confirmation (ids 501, 502)."""
    base = two_zone_context()
    assert base.account is not None
    histories = [
        base.account.history[11]._replace(
            pending=reading(
                11, 19000, received, status=ReadingStatus.AWAITING_CONFIRMATION, reading_id=501
            )
        ),
        base.account.history[12]._replace(
            pending=reading(
                12, 5080, received, status=ReadingStatus.AWAITING_CONFIRMATION, reading_id=502
            )
        ),
    ]
    return context(snapshot([two_zone_meter()], histories))


@pytest.mark.parametrize("answer", ["ДА", "да", "YES", "sí", "Si", "DA", "ДА 1234567890"])
def test_confirming_bills_the_pending_reading(answer: str) -> None:
    outcome = run(pending_context(), answer)
    assert outcome.status is OutcomeStatus.ACCEPTED
    assert [(c.reading_id, c.status, c.reason) for c in outcome.status_changes] == [
        (501, ReadingStatus.ACCEPTED, "confirmed"),
        (502, ReadingStatus.ACCEPTED, "confirmed"),
    ]
    assert not outcome.readings  # nothing new: the stored readings change status
    assert outcome.charges[0].amount == 7000 * D("5.92") + 80 * D("1.74")


def test_sending_the_same_reading_again_confirms_it() -> None:
    outcome = run(pending_context(), "19000 5080")
    assert outcome.status is OutcomeStatus.ACCEPTED
    assert {c.reason for c in outcome.status_changes} == {"confirmed"}


def test_a_different_reading_supersedes_the_pending_one() -> None:
    outcome = run(pending_context(), "12150 5080")
    assert outcome.status is OutcomeStatus.ACCEPTED
    assert {(c.reading_id, c.reason) for c in outcome.status_changes} == {
        (501, "superseded"),
        (502, "superseded"),
    }
    assert outcome.charges[0].amount == D("1027.20")


def test_a_confirmation_too_late_is_refused() -> None:
    outcome = run(pending_context(received=NOW - timedelta(hours=25)), "ДА")
    assert rejection(outcome).reason is RejectionReason.CONFIRMATION_EXPIRED
    assert {(c.reading_id, c.status) for c in outcome.status_changes} == {
        (501, ReadingStatus.REJECTED),
        (502, ReadingStatus.REJECTED),
    }
    assert not outcome.charges


def test_nothing_to_confirm() -> None:
    outcome = run(two_zone_context(), "YES")
    assert rejection(outcome).reason is RejectionReason.NOTHING_TO_CONFIRM


# -- 7. duplicates ---------------------------------------------------------------------


def test_the_same_reading_again_is_acknowledged_not_billed() -> None:
    ctx = two_zone_context()
    assert ctx.account is not None
    earlier = NOW - timedelta(hours=3)
    histories = [
        RegisterHistory(11, (*ctx.account.history[11].accepted, reading(11, 12150, earlier))),
        RegisterHistory(12, (*ctx.account.history[12].accepted, reading(12, 5080, earlier))),
    ]
    outcome = run(context(snapshot([two_zone_meter()], histories)), "12150 5080")
    assert outcome.status is OutcomeStatus.DUPLICATE
    assert not outcome.readings and not outcome.charges
    assert reply(outcome).text == "ЛС1234567890: показания Т1 12150 Т2 5080 уже приняты"


def test_an_smsc_redelivery_changes_nothing() -> None:
    outcome = run(two_zone_context(seen=True), "12150 5080")
    assert outcome.status is OutcomeStatus.ALREADY_PROCESSED
    assert outcome.reply is None
    assert not outcome.readings and not outcome.charges and not outcome.status_changes
    assert outcome.persists is False


# -- 8. zones agree with the total --------------------------------------------------


def test_a_total_register_that_disagrees_with_the_zones() -> None:
    meter = Meter(
        1,
        "E",
        1,
        Service.ELECTRICITY,
        (Register(10, Zone.T0), Register(11, Zone.T1), Register(12, Zone.T2)),
        digits=6,
    )
    histories = [
        RegisterHistory(10, monthly(10, [17000], LAST_MONTH)),
        RegisterHistory(11, monthly(11, [12000], LAST_MONTH)),
        RegisterHistory(12, monthly(12, [5000], LAST_MONTH)),
    ]
    ctx = context(snapshot([meter], histories))
    bad = run(ctx, "17500 12150 5080")
    assert rejection(bad).reason is RejectionReason.ZONES_DISAGREE
    good = run(ctx, "17230 12150 5080")
    assert good.status is OutcomeStatus.ACCEPTED
    assert good.charges[0].amount == D("1027.20")  # T0 is a check, not billed
    assert len(good.readings) == 3


# -- other commands ------------------------------------------------------------------


def test_balance_shows_debt_due_date_and_last_readings() -> None:
    ctx = two_zone_context()
    assert ctx.account is not None
    owed = snapshot(
        ctx.account.meters,
        ctx.account.history.values(),
        balance=D("1027.20"),
        open_items=[OpenItem(Period(2024, 3), D("1027.20"), D(0), date(2024, 4, 15))],
    )
    outcome = run(context(owed), "БАЛ")
    assert outcome.status is OutcomeStatus.ANSWERED
    assert (
        reply(outcome).text == "ЛС1234567890: Долг 1027,20 р до 15.04. Показания Т1 12000 Т2 5000"
    )
    assert outcome.balance_after == D("1027.20")


def test_balance_of_an_advance() -> None:
    ctx = two_zone_context()
    assert ctx.account is not None
    ahead = snapshot(ctx.account.meters, ctx.account.history.values(), balance=D("-15"))
    assert reply(run(context(ahead), "BAL")).text.startswith("ЛС1234567890: Аванс 15,00 р")


def test_help_in_the_account_language() -> None:
    ctx = two_zone_context()
    assert ctx.account is not None
    spanish = snapshot(ctx.account.meters, ctx.account.history.values(), language=Language.ES)
    outcome = run(context(spanish), "AYUDA")
    assert reply(outcome).kind is ReplyKind.HELP
    assert reply(outcome).language is Language.ES
    assert reply(outcome).text.startswith("Lectura:")


def test_stop_and_start_cover_every_bound_account() -> None:
    ctx = two_zone_context(bindings=[ACCOUNT, "5555555555"])
    stop = run(ctx, "СТОП")
    assert stop.status is OutcomeStatus.OPTED_OUT
    assert stop.opt_out is not None
    assert (stop.opt_out.msisdn, stop.opt_out.account_numbers, stop.opt_out.opted_out) == (
        MSISDN,
        (ACCOUNT, "5555555555"),
        True,
    )
    assert "кроме обязательной по закону" in reply(stop).text
    start = run(ctx, "START 5555555555")
    assert start.opt_out is not None
    assert (start.opt_out.account_numbers, start.opt_out.opted_out) == (("5555555555",), False)


def test_stop_naming_someone_elses_account_still_stops_this_phone() -> None:
    outcome = run(two_zone_context(), "STOP 99999999")
    assert outcome.opt_out is not None
    assert outcome.opt_out.account_numbers == (ACCOUNT,)


def test_several_meters_in_one_sms() -> None:
    cold, hot = single_meter(3, Service.COLD_WATER), single_meter(4, Service.HOT_WATER)
    histories = [
        RegisterHistory(30, monthly(30, ["50.8"], LAST_MONTH)),
        RegisterHistory(40, monthly(40, ["45.3"], LAST_MONTH)),
    ]
    tariffs = [
        TariffVersion(7, Service.COLD_WATER, Flat(D("40.00")), date(2024, 1, 1)),
        TariffVersion(8, Service.HOT_WATER, Flat(D("200.00")), date(2024, 1, 1)),
    ]
    ctx = context(snapshot([cold, hot], histories, tariffs=tariffs, number="123456"))
    outcome = run(ctx, "ЖКХ 123456 Х 56.8 Г 47.3")
    assert outcome.status is OutcomeStatus.ACCEPTED
    assert [(c.service, c.amount) for c in outcome.charges] == [
        (Service.COLD_WATER, D("240.00")),
        (Service.HOT_WATER, D("400.00")),
    ]
    assert reply(outcome).text == "ЛС123456 приняты ХВ 56,8 ГВ 47,3. Долг 640,00 р до 15.04"


def water_and(second: Service) -> ReadingContext:
    """An account with a cold-water meter and a ``second`` one, both billed flat."""
    cold, other = single_meter(3, Service.COLD_WATER), single_meter(4, second)
    histories = [
        RegisterHistory(30, monthly(30, ["50.8"], LAST_MONTH)),
        RegisterHistory(40, monthly(40, ["45.3"], LAST_MONTH)),
    ]
    tariffs = [
        TariffVersion(7, Service.COLD_WATER, Flat(D("40.00")), date(2024, 1, 1)),
        TariffVersion(8, second, Flat(D("200.00")), date(2024, 1, 1)),
    ]
    return context(snapshot([cold, other], histories, tariffs=tariffs, number="123456"))


@pytest.mark.parametrize("second", [Service.HOT_WATER, Service.GAS])
def test_a_latin_g_is_the_meter_the_account_has_hot_water_or_gas(second: Service) -> None:
    outcome = run(water_and(second), "ZHKH 123456 H 56.8 G 47.3")
    assert outcome.status is OutcomeStatus.ACCEPTED
    assert [(c.service, c.amount) for c in outcome.charges] == [
        (Service.COLD_WATER, D("240.00")),
        (second, D("400.00")),
    ]


def test_a_latin_g_on_an_account_with_hot_water_and_gas_is_asked_about() -> None:
    hot, gas = single_meter(4, Service.HOT_WATER), single_meter(5, Service.GAS)
    ctx = context(snapshot([hot, gas], tariffs=[], number="123456"))
    outcome = run(ctx, "123456 G 47.3")
    assert rejection(outcome).reason is RejectionReason.AMBIGUOUS_METER
    assert not outcome.charges
    # Spelled out, the label is not ambiguous.
    assert run(ctx, "123456 GV 47.3").status is OutcomeStatus.ACCEPTED
    assert run(ctx, "123456 GAZ 47.3").status is OutcomeStatus.ACCEPTED


@pytest.mark.parametrize(
    ("language", "text"),
    [
        (Language.RU, "ЛС123456: 45 меньше прежних 45,3. Проверьте"),
        (Language.EN, "Acc 123456: 45 is below the previous 45.3. Please check it"),
        (Language.BG, "Аб.123456: 45 е под предишното 45,3. Проверете"),
        (Language.ES, "Cta 123456: 45 es menor que la anterior 45,3. Revise la lectura"),
    ],
)
def test_a_lower_reading_of_a_single_register_meter_says_the_value_and_the_previous(
    language: Language, text: str
) -> None:
    meter = single_meter(4, Service.HOT_WATER)
    history = RegisterHistory(40, monthly(40, ["45.3"], LAST_MONTH))
    tariff = TariffVersion(8, Service.HOT_WATER, Flat(D("200.00")), date(2024, 1, 1))
    ctx = context(
        snapshot([meter], [history], tariffs=[tariff], number="123456", language=language)
    )
    outcome = run(ctx, "123456 45")
    assert rejection(outcome).reason is RejectionReason.LOWER_THAN_PREVIOUS
    assert reply(outcome).text == text


def test_the_first_reading_of_a_meter_is_accepted_without_a_charge() -> None:
    ctx = context(snapshot([two_zone_meter()]))
    outcome = run(ctx, "12150 5080")
    assert outcome.status is OutcomeStatus.ACCEPTED
    assert not outcome.charges
    assert len(outcome.readings) == 2
    # No consumption to show: the variant without it goes.
    assert reply(outcome).text == "ЛС1234567890 приняты Т1 12150 Т2 5080. Долга нет"


def test_balance_without_readings_does_not_show_an_empty_list() -> None:
    outcome = run(context(snapshot([two_zone_meter()])), "БАЛ")
    assert reply(outcome).text == "ЛС1234567890: Долга нет"


def test_a_missing_tariff_fails_for_the_operator_and_asks_the_consumer_to_retry() -> None:
    ctx = two_zone_context()
    assert ctx.account is not None
    untariffed = snapshot(ctx.account.meters, ctx.account.history.values(), tariffs=[])
    outcome = run(context(untariffed), "12150 5080")
    assert outcome.status is OutcomeStatus.FAILED
    assert isinstance(outcome.error, TariffError)
    assert reply(outcome).kind is ReplyKind.FAILED
    assert not outcome.readings and not outcome.charges


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="aware"):
        run(two_zone_context(), "12150 5080", now=datetime(2024, 3, 20, 12))


def test_the_outcome_does_not_depend_on_the_callers_decimal_context() -> None:
    expected = run(two_zone_context(), "12150 5080")
    with localcontext() as ambient:
        ambient.prec = 3
        ambient.rounding = decimal.ROUND_FLOOR
        outcome = run(two_zone_context(), "12150 5080")
    assert outcome.charges == expected.charges
    assert outcome.balance_after == D("1027.20")


@settings(max_examples=300)
@given(st.text(max_size=60) | st.text(alphabet="0123456789 ТтXХГЭ#*.,/ДАSTOPБАЛ?", max_size=30))
def test_any_text_gets_an_outcome_never_an_exception(text: str) -> None:
    outcome = run(two_zone_context(), text)
    assert outcome.reply is not None
    assert outcome.status is not OutcomeStatus.FAILED
    for charge in outcome.charges:
        assert charge.amount >= 0
    assert isinstance(outcome.balance_after, Decimal | type(None))


def test_replies_to_every_outcome_fit_one_sms() -> None:
    samples = [
        "12150 5080",
        "19000 5080",
        "12150 4999",
        "hello",
        "1234567890 12150",
        "БАЛ",
        "?",
        "СТОП",
        "ДА",
    ]
    for text in samples:
        assert reply(run(two_zone_context(), text)).parts == 1
    assert (
        ELECTRICITY_ZONED.pricing == ELECTRICITY_ZONED.pricing
    )  # the builders' tariff is the spec's
