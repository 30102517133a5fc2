"""What an import writes and refuses (billing_import_rules), as functions, then on both stores."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import cast

from hypothesis import given
from hypothesis import strategies as st

from billing_core import Ledger, Period
from smpp_engine.store import BillingStore, Store, import_billing_data
from smpp_engine.store.billing.import_rules import StoredImport, decide, lookups
from smpp_engine.store.billing.importing import (
    AccountRow,
    BindingRow,
    ImportBatch,
    MeterRow,
    ReadingRow,
    TariffRow,
    UtilityRow,
)

from .test_billing_repository import example, load

D = Decimal
AT = datetime(2024, 3, 1, 9, tzinfo=UTC)


def stored(**kwargs: object) -> StoredImport:
    base: dict[str, object] = {
        "utilities": {"acme": True},
        "accounts": {"1"},
        "points": {("1", "gas"): 3},
        "meters": {7: ("G-7", "1")},
        "registers": {70: (7, "T0")},
        "tariffs": {},
        "readings": set(),
        "last_ids": {"billing_meters": 7, "billing_registers": 70},
    }
    base.update(kwargs)
    return StoredImport(**base)  # type: ignore[arg-type]


def meter(at: int, serial: str, account: str = "1", **kwargs: object) -> MeterRow:
    row = MeterRow(at, None, account, "gas", serial, 5, 0, D(1), "active", ((None, "T0"),))
    return row._replace(**kwargs)


def reading(at: int, serial: str, value: str = "1") -> ReadingRow:
    return ReadingRow(at, serial, "T0", D(value), AT, AT, "inspector", "accepted", "2024-03")


def test_a_row_sees_the_rows_before_it() -> None:
    batch = ImportBatch(
        accounts=[
            AccountRow(0, "2", "acme", None, None, False, Ledger.opening(D(5), Period(2024, 2)))
        ],
        bindings=[BindingRow(0, "7916", "2", False), BindingRow(1, "7917", "3", False)],
        meters=[meter(0, "G-8", "2")],
        readings=[reading(0, "G-8"), reading(1, "G-8"), reading(2, "G-9")],
    )
    plan = decide(batch, stored())
    assert plan.written == {
        "utilities": 0,
        "accounts": 1,
        "bindings": 1,
        "meters": 1,
        "tariffs": 0,
        "readings": 1,  # the second is the same reading: kept once, not refused
    }
    assert [(p.section, p.index, p.field, p.message) for p in plan.problems] == [
        ("bindings", 1, "account", "unknown account '3'"),
        ("readings", 2, "meter", "no meter 'G-9' with register T0"),
    ]
    assert plan.accounts[0]["opening"] == D(5) and plan.open_items[0]["period"] == "2024-02"
    # New rows are numbered after the highest stored ids; a new account's meter
    # gets a service point of its own, first of its meters.
    assert plan.service_points == [{"id": 1, "account_number": "2", "service": "gas"}]
    assert [(m["id"], m["serial"], m["position"]) for m in plan.meters] == [(8, "G-8", 0)]
    assert [(r["id"], r["meter_id"]) for r in plan.registers] == [(71, 8)]
    assert [r["register_id"] for r in plan.readings] == [71]


def test_a_meter_is_refused_for_ids_that_are_not_its_own() -> None:
    batch = ImportBatch(
        meters=[
            meter(0, "G-7", id=9),  # stored as 7
            meter(1, "G-5", id=7),  # 7 is G-7's
            meter(2, "G-6", registers=((70, "T0"),)),  # 70 is G-7's
            meter(3, "G-7", registers=((70, "T0"), (None, "T1"))),  # its own: kept, T1 added
            meter(4, "G-4", id=20),
            meter(5, "G-3"),
        ]
    )
    plan = decide(batch, stored())
    assert [(p.index, p.field, p.message) for p in plan.problems] == [
        (0, "id", "the serial is stored with id 7"),
        (1, "id", "id 7 belongs to another meter"),
        (2, "registers", "register id 70 is taken"),
    ]
    assert plan.meter_changes == [
        {"id": 7, "service_point_id": 3, "digits": 5, "decimals": 0, "multiplier": D(1),
         "status": "active", "verification_date": None}
    ]  # fmt: skip
    assert plan.register_changes == [{"id": 70, "position": 0}]
    # A given id moves the numbering on: the next new meter comes after it.
    assert [(m["id"], m["position"]) for m in plan.meters] == [(20, 1), (21, 2)]


def test_the_default_utility_moves_and_tariffs_are_kept_once() -> None:
    tariff = TariffRow(0, None, "acme", "gas", None, date(2024, 1, 1), None, "{}", "flat")
    batch = ImportBatch(
        utilities=[UtilityRow(0, "beta", "{}", True)],
        tariffs=[tariff, tariff._replace(at=1), tariff._replace(at=2, utility="none"),
                 tariff._replace(at=3, valid_from=date(2024, 2, 1), id=4)],
    )  # fmt: skip
    old = ("acme", "gas", None, date(2023, 1, 1), False)
    plan = decide(batch, stored(tariffs={4: old}, last_ids={"billing_tariffs": 4}))
    assert plan.utilities == [{"id": "beta", "settings": "{}", "is_default": True}]
    assert plan.utility_defaults == [{"id": "acme", "is_default": False}]
    assert [t["id"] for t in plan.tariffs] == [5]
    assert [(p.index, p.field) for p in plan.problems] == [(2, "utility"), (3, "id")]
    assert plan.written["tariffs"] == 1


def test_lookups_name_what_the_rules_ask_about() -> None:
    batch = ImportBatch(
        bindings=[BindingRow(0, "7916", "2", False)],
        meters=[meter(0, "G-8", "3", id=8, registers=((80, "T0"),))],
        readings=[reading(0, "G-1")],
    )
    ask = lookups(batch)
    assert (ask.accounts, ask.serials, ask.meter_ids, ask.register_ids) == (
        ["2", "3"],
        ["G-1", "G-8"],
        [8],
        [80],
    )
    assert (ask.meter_accounts, ask.reading_serials, ask.reading_times) == (["3"], ["G-1"], [AT])


async def test_new_rows_are_numbered_after_the_stored_ones_on_both_stores(store: Store) -> None:
    repo = cast(BillingStore, store)
    assert (await import_billing_data(repo, example())).ok
    data = {
        "meters": [
            {"serial": "G-50", "account": "5550001", "service": "gas", "id": 50},
            {"serial": "G-51", "account": "5550001", "service": "gas"},
        ],
        "readings": [
            {"meter": "G-51", "value": "3.5", "taken_at": "2024-03-01T10:00:00+03:00"},
            {"meter": "G-51", "value": "3.50", "taken_at": "2024-03-01T07:00:00+00:00"},
        ],
    }
    report = await import_billing_data(repo, data)
    assert report.ok, report.problems
    assert report.written["readings"] == 1  # the same reading, written twice
    context = await load(repo, "79160000002", "5550001")
    assert context.account is not None
    assert [(m.serial, m.id) for m in context.account.meters] == [
        ("W-1", 2),
        ("G-50", 50),
        ("G-51", 51),
    ]


@given(
    rows=st.lists(
        st.tuples(st.sampled_from(["G-1", "G-2", "G-3", "G-4", "G-7"]), st.sampled_from("12")),
        max_size=12,
    )
)
def test_a_new_meter_goes_after_the_meters_its_account_has(rows: list[tuple[str, str]]) -> None:
    # The model: stored meters and the batch's rows so far, each serial on the
    # account it was last given; a new meter's position counts its account's.
    accounts = {"1", "2"}
    points = {("1", "gas"): 3, ("2", "gas"): 4}
    plan = decide(
        ImportBatch(meters=[meter(i, s, a) for i, (s, a) in enumerate(rows)]),
        stored(accounts=accounts, points=points),
    )
    owner = {"G-7": "1"}
    expected = []
    for serial, account in rows:
        if serial not in owner:
            expected.append((serial, sum(1 for a in owner.values() if a == account)))
        owner[serial] = account
    assert [(m["serial"], m["position"]) for m in plan.meters] == expected
