# ruff: noqa: RUF001, RUF002, RUF003 - Cyrillic keywords and texts are the point here
"""Reply and notice texts per language, sized to one SMS.

Every kind of text has variants from the most to the least informative; the
first that fits one SMS (70 UCS-2 or 160 GSM-7 units, as the caller's
:data:`TextSizer` counts them: the gateway passes its protocol core's planner,
with the route's text profile) is sent. The
last variant of each kind fits with the longest realistic values (a 12-digit
account, a 7-digit debt, a 4-character currency symbol, a 24-character
registration hint), which the tests hold every kind to. Cyrillic forces UCS-2,
so Russian and Bulgarian texts are written for 70; Spanish avoids á í ó ú
(outside GSM-7) to keep 160.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from string import Formatter
from typing import Final, NamedTuple, Protocol

from .model import FastEnum, Language, Meter, Service, Zone
from .money import MoneyFormat, Rounding

# No one-part SMS is longer than 160 characters (GSM-7; UCS-2 holds 70).
_GSM_SINGLE: Final = 160


class ReplyKind(FastEnum):
    READING_ACCEPTED = "reading_accepted"
    READING_CONFIRM = "reading_confirm"
    READING_DUPLICATE = "reading_duplicate"
    READING_LOWER = "reading_lower"
    WINDOW_CLOSED = "window_closed"
    UNKNOWN_METER = "unknown_meter"
    ZONES_DISAGREE = "zones_disagree"
    NOTHING_TO_CONFIRM = "nothing_to_confirm"
    CONFIRMATION_EXPIRED = "confirmation_expired"
    BALANCE = "balance"
    HELP = "help"
    STOPPED = "stopped"
    STARTED = "started"
    NOT_UNDERSTOOD = "not_understood"
    NOT_REGISTERED = "not_registered"
    NOT_BOUND = "not_bound"
    ACCOUNT_REQUIRED = "account_required"
    ACCOUNT_CLOSED = "account_closed"
    FAILED = "failed"
    DEBT_NOTICE = "debt_notice"
    DISCONNECTION_WARNING = "disconnection_warning"
    RESTRICTION = "restriction"
    PAYMENT_CONFIRMATION = "payment_confirmation"
    READING_REMINDER = "reading_reminder"
    PAYMENT_REMINDER = "payment_reminder"
    METER_VERIFICATION = "meter_verification"


K = ReplyKind

# Fields: account, values, usage, balance, hours, label, value, previous, first,
# last, example, register, paid, money, due, days, service, meter.
TEMPLATES: Final[Mapping[Language, Mapping[ReplyKind, tuple[str, ...]]]] = {
    Language.RU: {
        K.READING_ACCEPTED: (
            "ЛС{account} приняты {values}, расход {usage}. {balance}",
            "ЛС{account} приняты {values}. {balance}",
            "ЛС{account}: показания приняты. {balance}",
            "Показания приняты. {balance}",
        ),
        K.READING_CONFIRM: (
            "ЛС{account}: {values} выше обычного. Верно? Ответьте ДА за {hours} ч",
            "{values} выше обычного. Верно? Ответьте ДА за {hours} ч",
            "Показания выше обычного. Верно? Ответьте ДА за {hours} ч",
        ),
        K.READING_DUPLICATE: (
            "ЛС{account}: показания {values} уже приняты",
            "ЛС{account}: эти показания уже приняты",
            "Эти показания уже приняты",
        ),
        K.READING_LOWER: (
            "ЛС{account}: {label}{value} меньше прежних {previous}. Проверьте",
            "{label}{value} меньше прежних {previous}. Проверьте показания",
            "Показания меньше прежних. Проверьте и пришлите снова",
        ),
        K.WINDOW_CLOSED: ("Показания принимаются с {first} по {last} число месяца",),
        K.UNKNOWN_METER: (
            "ЛС{account}: не понял, какой счетчик. Пример: {example}",
            "Не понял, какой счетчик. Пример: {example}",
            "Не понял, какой счетчик. Справка: ?",
        ),
        K.ZONES_DISAGREE: (
            "ЛС{account}: сумма зон не равна общему Т0. Проверьте показания",
            "Сумма зон не равна общему Т0. Проверьте показания",
        ),
        K.NOTHING_TO_CONFIRM: ("Нет показаний, ждущих подтверждения",),
        K.CONFIRMATION_EXPIRED: ("Время подтверждения вышло. Пришлите показания снова",),
        K.BALANCE: (
            "ЛС{account}: {balance}. Показания {values}",
            "ЛС{account}: {balance}",
            "{balance}",
        ),
        K.HELP: ("Показания: Т1 12345 Т2 6789. Баланс: БАЛ. Отписка: СТОП. Справка: ?",),
        K.STOPPED: ("Рассылка отключена, кроме обязательной по закону. СТАРТ - включить",),
        K.STARTED: ("Рассылка включена. СТОП - отключить",),
        K.NOT_UNDERSTOOD: ("Не понял. Пример: {example}", "Не понял. Справка: ?"),
        K.NOT_REGISTERED: (
            "Номер не привязан к лицевому счету. {register}",
            "Номер не привязан к ЛС. {register}",
        ),
        K.NOT_BOUND: (
            "Номер не привязан к ЛС{account}. {register}",
            "Номер не привязан к этому ЛС. {register}",
        ),
        K.ACCOUNT_REQUIRED: (
            "Укажите номер ЛС. Пример: {example}",
            "Укажите номер ЛС перед показаниями",
        ),
        K.ACCOUNT_CLOSED: ("ЛС{account} закрыт", "Лицевой счет закрыт"),
        K.FAILED: ("Показания не приняты из-за сбоя. Повторите позже",),
        K.DEBT_NOTICE: (
            "ЛС{account}: долг {money}. Оплатите до {due}",
            "Долг {money}. Оплатите до {due}",
        ),
        K.DISCONNECTION_WARNING: (
            "ЛС{account}: долг {money}. Не оплатите за {days} дн. - {service} ограничат",
            "Долг {money}. Не оплатите за {days} дн. - {service} ограничат",
            "Долг {money}. Без оплаты {days} дн. ограничат {service}",
        ),
        K.RESTRICTION: (
            "ЛС{account}: {service} ограничено за долг {money}",
            "{service} ограничено за долг {money}",
        ),
        K.PAYMENT_CONFIRMATION: (
            "ЛС{account}: оплата {paid} получена. {balance}",
            "Оплата {paid} получена. {balance}",
        ),
        K.READING_REMINDER: (
            "ЛС{account}: передайте показания до {last} числа. Пример: {example}",
            "Передайте показания до {last} числа. Пример: {example}",
            "Передайте показания счетчиков до {last} числа",
        ),
        K.PAYMENT_REMINDER: (
            "ЛС{account}: напоминаем, оплатите {money} до {due}",
            "ЛС{account}: оплатите {money} до {due}",
            "Оплатите {money} до {due}",
        ),
        K.METER_VERIFICATION: (
            "ЛС{account}: поверка счетчика {meter} до {due}. Закажите поверку",
            "ЛС{account}: поверка счетчика {meter} до {due}",
            "Поверка счетчика {meter} до {due}",
            "Срок поверки счетчика истекает {due}",
        ),
    },
    Language.BG: {
        K.READING_ACCEPTED: (
            "Аб.{account} приети {values}, разход {usage}. {balance}",
            "Аб.{account} приети {values}. {balance}",
            "Аб.{account}: показанията са приети. {balance}",
            "Показанията са приети. {balance}",
        ),
        K.READING_CONFIRM: (
            "Аб.{account}: {values} е над обичайното. Вярно? Отговорете ДА до {hours} ч",
            "{values} е над обичайното. Вярно? Отговорете ДА до {hours} ч",
            "Показанията са над обичайното. Вярно? Отговорете ДА до {hours} ч",
        ),
        K.READING_DUPLICATE: (
            "Аб.{account}: показанията {values} вече са приети",
            "Аб.{account}: тези показания вече са приети",
            "Тези показания вече са приети",
        ),
        K.READING_LOWER: (
            "Аб.{account}: {label}{value} е под предишното {previous}. Проверете",
            "{label}{value} е под предишното {previous}. Проверете",
            "Показанията са под предишните. Проверете и изпратете отново",
        ),
        K.WINDOW_CLOSED: ("Показания се приемат от {first} до {last} число на месеца",),
        K.UNKNOWN_METER: (
            "Аб.{account}: не е ясно кой уред. Пример: {example}",
            "Не е ясно кой уред. Пример: {example}",
            "Не е ясно кой уред. Помощ: ?",
        ),
        K.ZONES_DISAGREE: (
            "Аб.{account}: сборът на зоните не е равен на Т0. Проверете",
            "Сборът на зоните не е равен на Т0. Проверете",
        ),
        K.NOTHING_TO_CONFIRM: ("Няма показания за потвърждение",),
        K.CONFIRMATION_EXPIRED: ("Срокът за потвърждение изтече. Изпратете отново",),
        K.BALANCE: (
            "Аб.{account}: {balance}. Показания {values}",
            "Аб.{account}: {balance}",
            "{balance}",
        ),
        K.HELP: ("Показания: Т1 12345 Т2 6789. Баланс: БАЛ. Отказ: СТОП. Помощ: ?",),
        K.STOPPED: ("Известията са спрени, освен задължителните. СТАРТ - пускане",),
        K.STARTED: ("Известията са пуснати. СТОП - спиране",),
        K.NOT_UNDERSTOOD: ("Неразбрано. Пример: {example}", "Неразбрано. Помощ: ?"),
        K.NOT_REGISTERED: (
            "Номерът не е свързан с абонат. {register}",
            "Номерът не е регистриран. {register}",
        ),
        K.NOT_BOUND: (
            "Номерът не е свързан с аб.{account}. {register}",
            "Номерът не е свързан с този абонат. {register}",
            "Номерът не е регистриран. {register}",
        ),
        K.ACCOUNT_REQUIRED: (
            "Посочете абонатен номер. Пример: {example}",
            "Посочете абонатен номер",
        ),
        K.ACCOUNT_CLOSED: ("Аб.{account} е закрит", "Абонатът е закрит"),
        K.FAILED: ("Показанията не са приети поради грешка. Опитайте по-късно",),
        K.DEBT_NOTICE: (
            "Аб.{account}: дълг {money}. Платете до {due}",
            "Дълг {money}. Платете до {due}",
        ),
        K.DISCONNECTION_WARNING: (
            "Аб.{account}: дълг {money}. Без плащане до {days} дни - спиране на {service}",
            "Дълг {money}. Без плащане до {days} дни - спиране на {service}",
        ),
        K.RESTRICTION: (
            "Аб.{account}: {service} е ограничен(а) за дълг {money}",
            "{service} е ограничен(а) за дълг {money}",
        ),
        K.PAYMENT_CONFIRMATION: (
            "Аб.{account}: плащане {paid} получено. {balance}",
            "Плащане {paid} получено. {balance}",
        ),
        K.READING_REMINDER: (
            "Аб.{account}: изпратете показания до {last} число. Пример: {example}",
            "Изпратете показания до {last} число. Пример: {example}",
            "Изпратете показанията на уредите до {last} число",
        ),
        K.PAYMENT_REMINDER: (
            "Аб.{account}: напомняме, платете {money} до {due}",
            "Аб.{account}: платете {money} до {due}",
            "Платете {money} до {due}",
        ),
        K.METER_VERIFICATION: (
            "Аб.{account}: проверка на уред {meter} до {due}. Заявете проверка",
            "Аб.{account}: проверка на уред {meter} до {due}",
            "Проверка на уред {meter} до {due}",
            "Срокът за проверка на уреда изтича на {due}",
        ),
    },
    Language.ES: {
        K.READING_ACCEPTED: (
            "Cta {account}: lectura {values} recibida, consumo {usage}. {balance}",
            "Cta {account}: lectura {values} recibida. {balance}",
            "Cta {account}: lectura recibida. {balance}",
        ),
        K.READING_CONFIRM: (
            "Cta {account}: {values} supera su consumo habitual. Si es correcto, "
            "responda SI en {hours} h",
            "La lectura supera su consumo habitual. Si es correcto, responda SI en {hours} h",
        ),
        K.READING_DUPLICATE: (
            "Cta {account}: la lectura {values} ya fue recibida",
            "Cta {account}: esta lectura ya fue recibida",
        ),
        K.READING_LOWER: (
            "Cta {account}: {label}{value} es menor que la anterior {previous}. Revise la lectura",
            "La lectura es menor que la anterior. Revise y envie de nuevo",
        ),
        K.WINDOW_CLOSED: ("Las lecturas se reciben del dia {first} al {last} de cada mes",),
        K.UNKNOWN_METER: (
            "Cta {account}: no sabemos a que contador corresponde. Ejemplo: {example}",
            "No sabemos a que contador corresponde. Envie AYUDA",
        ),
        K.ZONES_DISAGREE: (
            "Cta {account}: la suma de los periodos no coincide con el total T0. Revise la lectura",
            "La suma de los periodos no coincide con el total T0",
        ),
        K.NOTHING_TO_CONFIRM: ("No hay lecturas pendientes de confirmar",),
        K.CONFIRMATION_EXPIRED: ("El plazo para confirmar ha vencido. Envie la lectura de nuevo",),
        K.BALANCE: (
            "Cta {account}: {balance}. Ultima lectura {values}",
            "Cta {account}: {balance}",
        ),
        K.HELP: (
            "Lectura: LECTURA 556677 01234 o T1 12345 T2 6789. Saldo: SALDO. "
            "Baja: BAJA. Alta: ALTA. Ayuda: AYUDA",
        ),
        K.STOPPED: ("Avisos desactivados, salvo los obligatorios por ley. ALTA para activarlos",),
        K.STARTED: ("Avisos activados. BAJA para desactivarlos",),
        K.NOT_UNDERSTOOD: (
            "No entendimos el mensaje. Ejemplo: {example}",
            "No entendimos. Envie AYUDA",
        ),
        K.NOT_REGISTERED: ("Su numero no esta asociado a ninguna cuenta. {register}",),
        K.NOT_BOUND: (
            "Su numero no esta asociado a la cuenta {account}. {register}",
            "Su numero no esta asociado a esa cuenta. {register}",
        ),
        K.ACCOUNT_REQUIRED: (
            "Indique el numero de cuenta. Ejemplo: {example}",
            "Indique el numero de cuenta",
        ),
        K.ACCOUNT_CLOSED: ("La cuenta {account} esta cerrada", "La cuenta esta cerrada"),
        K.FAILED: ("No pudimos registrar la lectura por un fallo. Intente mas tarde",),
        K.DEBT_NOTICE: (
            "Cta {account}: tiene una deuda de {money}. Pague antes del {due}",
            "Deuda de {money}. Pague antes del {due}",
        ),
        K.DISCONNECTION_WARNING: (
            "Cta {account}: deuda de {money}. Si no paga en {days} dias desde este aviso, "
            "se suspendera el suministro de {service}",
            "Deuda de {money}. Sin pago en {days} dias se suspendera {service}",
        ),
        K.RESTRICTION: (
            "Cta {account}: suministro de {service} limitado por una deuda de {money}",
            "Suministro de {service} limitado por deuda de {money}",
        ),
        K.PAYMENT_CONFIRMATION: (
            "Cta {account}: pago de {paid} recibido. {balance}",
            "Pago de {paid} recibido. {balance}",
        ),
        K.READING_REMINDER: (
            "Cta {account}: envie su lectura antes del dia {last}. Ejemplo: {example}",
            "Envie la lectura de sus contadores antes del dia {last}",
        ),
        K.PAYMENT_REMINDER: (
            "Cta {account}: le recordamos que debe pagar {money} antes del {due}",
            "Recuerde pagar {money} antes del {due}",
        ),
        K.METER_VERIFICATION: (
            "Cta {account}: su contador {meter} debe verificarse antes del {due}. "
            "Solicite la verificacion",
            "Cta {account}: verificacion del contador {meter} antes del {due}",
            "Su contador debe verificarse antes del {due}",
        ),
    },
    Language.EN: {
        K.READING_ACCEPTED: (
            "Acc {account}: reading {values} accepted, use {usage}. {balance}",
            "Acc {account}: reading {values} accepted. {balance}",
            "Acc {account}: reading accepted. {balance}",
        ),
        K.READING_CONFIRM: (
            "Acc {account}: {values} is above your usual use. "
            "If correct, reply YES within {hours} h",
            "The reading is above your usual use. If correct, reply YES within {hours} h",
        ),
        K.READING_DUPLICATE: (
            "Acc {account}: reading {values} was already accepted",
            "Acc {account}: this reading was already accepted",
        ),
        K.READING_LOWER: (
            "Acc {account}: {label}{value} is below the previous {previous}. Please check it",
            "The reading is below the previous one. Please check and send again",
        ),
        K.WINDOW_CLOSED: ("Readings are accepted from day {first} to day {last} of the month",),
        K.UNKNOWN_METER: (
            "Acc {account}: which meter is it? Example: {example}",
            "Which meter is it? Send HELP",
        ),
        K.ZONES_DISAGREE: (
            "Acc {account}: the zones do not add up to the total T0. Please check the reading",
            "The zones do not add up to the total T0",
        ),
        K.NOTHING_TO_CONFIRM: ("No reading is waiting for confirmation",),
        K.CONFIRMATION_EXPIRED: ("The time to confirm has passed. Please send the reading again",),
        K.BALANCE: (
            "Acc {account}: {balance}. Last reading {values}",
            "Acc {account}: {balance}",
        ),
        K.HELP: (
            "Reading: 1234567890 12345 or T1 12345 T2 6789. Balance: BAL. "
            "Opt out: STOP. Opt in: START. Help: HELP",
        ),
        K.STOPPED: ("Notices are off, except those required by law. START to turn them on",),
        K.STARTED: ("Notices are on. STOP to turn them off",),
        K.NOT_UNDERSTOOD: (
            "Sorry, not understood. Example: {example}",
            "Sorry, not understood. Send HELP",
        ),
        K.NOT_REGISTERED: ("Your number is not linked to any account. {register}",),
        K.NOT_BOUND: (
            "Your number is not linked to account {account}. {register}",
            "Your number is not linked to that account. {register}",
        ),
        K.ACCOUNT_REQUIRED: (
            "Please give the account number. Example: {example}",
            "Please give the account number",
        ),
        K.ACCOUNT_CLOSED: ("Account {account} is closed", "The account is closed"),
        K.FAILED: ("The reading could not be taken due to a fault. Please try again later",),
        K.DEBT_NOTICE: (
            "Acc {account}: you owe {money}. Please pay by {due}",
            "You owe {money}. Please pay by {due}",
        ),
        K.DISCONNECTION_WARNING: (
            "Acc {account}: debt {money}. Unless paid within {days} days of this notice, "
            "your {service} supply will be restricted",
            "Debt {money}. Unless paid within {days} days, {service} will be restricted",
        ),
        K.RESTRICTION: (
            "Acc {account}: {service} supply restricted for a debt of {money}",
            "{service} supply restricted for a debt of {money}",
        ),
        K.PAYMENT_CONFIRMATION: (
            "Acc {account}: payment of {paid} received. {balance}",
            "Payment of {paid} received. {balance}",
        ),
        K.READING_REMINDER: (
            "Acc {account}: please send your reading by day {last}. Example: {example}",
            "Please send your meter readings by day {last}",
        ),
        K.PAYMENT_REMINDER: (
            "Acc {account}: a reminder to pay {money} by {due}",
            "Reminder: please pay {money} by {due}",
        ),
        K.METER_VERIFICATION: (
            "Acc {account}: meter {meter} is due for verification by {due}. "
            "Please book a verification",
            "Acc {account}: meter {meter} is due for verification by {due}",
            "Your meter is due for verification by {due}",
        ),
    },
}

# Debt with a due date, debt without one, advance, nothing owed.
_DEBT: Final = {
    Language.RU: ("Долг {money} до {due}", "Долг {money}", "Аванс {money}", "Долга нет"),
    Language.BG: ("Дълг {money} до {due}", "Дълг {money}", "Аванс {money}", "Няма дълг"),
    Language.ES: (
        "Deuda {money}, vence {due}",
        "Deuda {money}",
        "Saldo a favor {money}",
        "Sin deuda",
    ),
    Language.EN: ("Owed {money}, due {due}", "Owed {money}", "In credit {money}", "Nothing owed"),
}
_REGISTER: Final = {
    Language.RU: ("Регистрация: {hint}", "Обратитесь к поставщику"),
    Language.BG: ("Регистрация: {hint}", "Обърнете се към доставчика"),
    Language.ES: ("Registro: {hint}", "Contacte con su compania"),
    Language.EN: ("To register: {hint}", "Please contact your utility"),
}
#: Meter markers as replies and examples write them; each parses back to its service.
MARKER_TEXT: Final[Mapping[Language, Mapping[Service, str]]] = {
    Language.RU: {
        Service.ELECTRICITY: "Э", Service.COLD_WATER: "ХВ", Service.HOT_WATER: "ГВ",
        Service.GAS: "ГАЗ", Service.HEATING: "ОТ",
    },
    Language.BG: {
        Service.ELECTRICITY: "ТОК", Service.COLD_WATER: "СВ", Service.HOT_WATER: "ТВ",
        Service.GAS: "ГАЗ", Service.HEATING: "ОТ",
    },
    Language.ES: {
        Service.ELECTRICITY: "LUZ", Service.COLD_WATER: "AF", Service.HOT_WATER: "AC",
        Service.GAS: "GAS", Service.HEATING: "CAL",
    },
    Language.EN: {
        Service.ELECTRICITY: "E", Service.COLD_WATER: "CW", Service.HOT_WATER: "HW",
        Service.GAS: "GAS", Service.HEATING: "HEAT",
    },
}  # fmt: skip
#: Service names for notices ("... your electricity supply ...").
SERVICE_NAMES: Final[Mapping[Language, Mapping[Service, str]]] = {
    Language.RU: {
        Service.ELECTRICITY: "электроснабжение", Service.COLD_WATER: "ХВС",
        Service.HOT_WATER: "ГВС", Service.GAS: "газ", Service.HEATING: "отопление",
    },
    Language.BG: {
        Service.ELECTRICITY: "ток", Service.COLD_WATER: "вода", Service.HOT_WATER: "топла вода",
        Service.GAS: "газ", Service.HEATING: "парно",
    },
    Language.ES: {
        Service.ELECTRICITY: "luz", Service.COLD_WATER: "agua", Service.HOT_WATER: "agua caliente",
        Service.GAS: "gas", Service.HEATING: "calefaccion",
    },
    Language.EN: {
        Service.ELECTRICITY: "electricity", Service.COLD_WATER: "water",
        Service.HOT_WATER: "hot water", Service.GAS: "gas", Service.HEATING: "heating",
    },
}  # fmt: skip
_UNITS: Final = {
    Language.RU: {Service.ELECTRICITY: "кВт·ч", Service.HEATING: "Гкал", None: "м³"},
    Language.BG: {Service.ELECTRICITY: "кВтч", Service.HEATING: "Гкал", None: "м3"},
    Language.ES: {Service.ELECTRICITY: "kWh", Service.HEATING: "Gcal", None: "m3"},
    Language.EN: {Service.ELECTRICITY: "kWh", Service.HEATING: "Gcal", None: "m3"},
}
_CYRILLIC_ZONES: Final = {zone: "Т" + zone.value[1] for zone in Zone}  # Cyrillic Т
_LATIN_ZONES: Final = {zone: zone.value for zone in Zone}
_COMMA: Final = frozenset({Language.RU, Language.BG, Language.ES})
_ONE: Final = Decimal(1)


#: Fields a variant may show empty: a lower reading's label (meter and zone) is
#: empty when the SMS gave one meter with one register ("650 меньше прежних 700"),
#: and the value and the previous one are still worth showing.
_MAY_BE_EMPTY: Final = frozenset({"label"})

#: The fields each template needs filled to be chosen.
_REQUIRED: Final = {
    template: {name for _, name, _, _ in Formatter().parse(template) if name} - _MAY_BE_EMPTY
    for kinds in TEMPLATES.values()
    for variants in kinds.values()
    for template in variants
}


class SizedText(Protocol):
    """How a text would go out: what a :data:`TextSizer` answers."""

    @property
    def parts(self) -> int: ...

    @property
    def alphabet(self) -> enum.Enum: ...

    @property
    def data_coding(self) -> int: ...


#: How many SMS a text takes, and in which alphabet: the SMS layer's knowledge,
#: passed in (the gateway gives its protocol core's planner, set to the route).
TextSizer = Callable[[str], SizedText]


class Reply(NamedTuple):
    """A text to send, with how the sizer said it would go out."""

    kind: ReplyKind
    language: Language
    text: str
    parts: int
    alphabet: enum.Enum
    data_coding: int


def render(
    kind: ReplyKind, language: Language, fields: Mapping[str, str], sizer: TextSizer
) -> Reply:
    """The first variant of ``kind`` that fits one SMS (else the last, in several parts).

    A variant that would show an empty field is passed over (the last never is),
    but for a field that may be empty (:data:`_MAY_BE_EMPTY`).
    """
    variants = TEMPLATES[language][kind]
    last = len(variants) - 1
    for index, template in enumerate(variants):
        if index < last and any(not fields[name] for name in _REQUIRED[template]):
            continue  # a variant that would show an empty field ("Показания ")
        text = template.format_map(fields)
        if ".." in text:  # a symbol ending in a point ("лв.") before a full stop
            text = text.replace("..", ".")
        if index < last and len(text) > _GSM_SINGLE:
            continue  # cannot be one SMS in any alphabet: spare the part count
        plan = sizer(text)
        if plan.parts == 1 or index == last:
            return Reply(kind, language, text, plan.parts, plan.alphabet, plan.data_coding)
    raise AssertionError("unreachable: every kind has a variant")  # pragma: no cover


def number_text(value: Decimal, language: Language) -> str:
    """A reading or quantity as written: no exponent, no trailing zeros, the local decimal mark."""
    text = str(value)
    if "E" in text or "." in text:  # Decimal("12150.000"), Decimal("1.5E+3")
        if value == value.to_integral_value():
            text = f"{value.quantize(_ONE):f}"
        else:
            text = f"{value.normalize():f}"
    return text.replace(".", ",") if language in _COMMA else text


def day_text(day: date, language: Language) -> str:
    """A due date as replies write it: ``15.04`` or ``15/04``."""
    sep = "." if language in (Language.RU, Language.BG) else "/"
    return f"{day.day:02d}{sep}{day.month:02d}"


def zone_text(zone: Zone, language: Language) -> str:
    return (_CYRILLIC_ZONES if language in (Language.RU, Language.BG) else _LATIN_ZONES)[zone]


def values_text(
    language: Language,
    readings: Sequence[tuple[Meter, Sequence[tuple[Zone, Decimal]]]],
) -> str:
    """``Т1 12150 Т2 5080``, ``12150``, or per meter ``ХВ 56,8 ГВ 47,3`` when there are several."""
    markers = MARKER_TEXT[language]
    pieces: list[str] = []
    several = len(readings) > 1
    for meter, values in readings:
        if several:
            pieces.append(markers[meter.service])
        named = len(values) > 1 or (values and values[0][0] is not Zone.T0)
        for zone, value in values:
            if named:
                pieces.append(zone_text(zone, language))
            pieces.append(number_text(value, language))
    return " ".join(pieces)


def usage_text(language: Language, service: Service, quantity: Decimal) -> str:
    """``230 кВт·ч``: a consumption with its unit."""
    units = _UNITS[language]
    unit = units.get(service, units[None])
    return f"{number_text(quantity, language)} {unit}"


def balance_text(
    language: Language,
    amount: Decimal,
    due: date | None,
    money_format: MoneyFormat,
    rounding: Rounding,
) -> str:
    """``Долг 1027,20 р до 15.04``, ``Аванс 15,00 р`` or ``Долга нет``."""
    debt_due, debt, advance, settled = _DEBT[language]
    money = money_format(amount, rounding)
    if amount > 0:
        if due is None:
            return debt.format(money=money)
        return debt_due.format(money=money, due=day_text(due, language))
    if amount < 0:
        return advance.format(money=money)
    return settled


def register_text(language: Language, hint: str) -> str:
    """How to bind a phone: the utility's hint, or "contact your utility"."""
    with_hint, without = _REGISTER[language]
    return with_hint.format(hint=hint) if hint else without


def example_text(language: Language, meters: Sequence[Meter], account_number: str | None) -> str:
    """One correct reading SMS for these meters (any meter shape when none are known)."""
    pieces = [account_number] if account_number else []
    sample = iter(("12345", "6789", "4321", "987"))
    if len(meters) <= 1:
        registers = meters[0].billing_registers if meters else ()
        if len(registers) > 1:
            for register in registers:
                pieces += [zone_text(register.zone, language), next(sample)]
        else:
            pieces.append("12345")
        return " ".join(pieces)
    markers = MARKER_TEXT[language]
    counts: dict[Service, int] = {}
    for meter in meters[:3]:
        counts[meter.service] = counts.get(meter.service, 0) + 1
    ordinals: dict[Service, int] = {}
    for meter in meters[:3]:
        marker = markers[meter.service]
        if counts[meter.service] > 1:
            ordinals[meter.service] = ordinals.get(meter.service, 0) + 1
            marker = f"{ordinals[meter.service]}{marker}"
        pieces.append(marker)
        registers = meter.billing_registers
        if len(registers) > 1:
            pieces.append("/".join(next(sample, "1") for _ in registers))
        else:
            pieces.append(next(sample, "1"))
    return " ".join(pieces)
