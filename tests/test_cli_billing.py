"""`smpp-engine billing import` and `billing sms`, as processes, on a SQLite store."""
# ruff: noqa: RUF001 - the replies are Russian text

from __future__ import annotations

import json
from pathlib import Path

from .test_cli import run

EXAMPLE = Path(__file__).resolve().parent.parent / "config" / "billing-example.json"


def test_import_then_a_reading_by_sms_gets_the_bill_and_queues_the_reply(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path}/billing.db"
    loaded = run("billing", "import", str(EXAMPLE), "--store", store)
    assert loaded.returncode == 0, loaded.stderr
    assert json.loads(loaded.stdout)["refused"] == []
    done = run(
        "billing", "sms", "--store", store, "--from", "+79161234567", "--text", "12150 5080",
        "--now", "2024-03-20T09:00:00+00:00",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["reply"] == "ЛС1234567890 приняты Т1 12150 Т2 5080. Долг 1027,20 р до 15.04"
    assert (result["encoding"], result["parts"], result["queued"]) == ("UCS2", 1, 1)
    assert result["balance_after"] == "1027.20"
    balance = run(
        "billing", "sms", "--store", store, "--from", "+79161234567", "--text", "БАЛАНС",
        "--now", "2024-03-20T09:00:00+00:00",
    )  # fmt: skip
    asked = json.loads(balance.stdout.strip().splitlines()[-1])
    assert "1027,20" in asked["reply"]
    assert asked["queued"] == 1  # stored under the question's own id, and found there


def test_import_reports_bad_rows_by_section_item_and_field(tmp_path: Path) -> None:
    document = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    document["accounts"].append({"number": "999", "utility": "no-such-utility"})
    document["meters"][0]["digits"] = "many"
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(document), encoding="utf-8")
    done = run("billing", "import", str(broken), "--store", f"sqlite:///{tmp_path}/b.db")
    assert done.returncode == 1
    refused = json.loads(done.stdout.strip().splitlines()[-1])["refused"]
    assert {(r["section"], r["field"]) for r in refused} >= {("meters", "digits")}
    assert any(r["section"] == "accounts" and "999" in r["item"] for r in refused), refused
    assert "digits" in done.stderr


def test_a_missing_file_is_a_bad_input_error(tmp_path: Path) -> None:
    done = run("billing", "import", str(tmp_path / "nope.json"), "--store", "sqlite://:memory:")
    assert done.returncode == 2 and "nope.json" in done.stderr


def test_a_payment_is_posted_once_and_its_confirmation_queued(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path}/pay.db"
    assert run("billing", "import", str(EXAMPLE), "--store", store).returncode == 0
    reading = run(
        "billing", "sms", "--store", store, "--from", "79161234567", "--text", "12150 5080",
        "--now", "2024-03-20T09:00:00+00:00",
    )  # fmt: skip
    assert reading.returncode == 0, reading.stderr

    def pay(*extra: str) -> dict[str, object]:
        done = run("billing", "payment", "1234567890", "500.00", "--store", store, *extra)
        assert done.returncode == 0, done.stderr
        result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
        return result

    first = pay("--reference", "BANK-1")
    assert (first["balance_after"], first["duplicate"]) == ("527.20", False)
    assert first["confirmations"] == [
        "ЛС1234567890: оплата 500,00 р получена. Долг 527,20 р до 15.04"
    ]
    again = pay("--reference", "BANK-1")
    assert again["duplicate"] is True
    second = pay("--reference", "BANK-2")
    assert second["balance_after"] == "27.20"


def test_a_payment_to_an_unknown_account_or_of_a_bad_sum_is_refused_by_name(
    tmp_path: Path,
) -> None:
    store = f"sqlite:///{tmp_path}/bad.db"
    assert run("billing", "import", str(EXAMPLE), "--store", store).returncode == 0
    unknown = run("billing", "payment", "999", "5", "--store", store)
    assert unknown.returncode == 2 and "999" in unknown.stderr
    bad = run("billing", "payment", "1234567890", "5.001", "--store", store)
    assert bad.returncode == 2 and "5.001" in bad.stderr


def test_a_sender_that_is_no_phone_number_is_named_and_nothing_is_queued(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path}/billing.db"
    assert run("billing", "import", str(EXAMPLE), "--store", store).returncode == 0
    done = run("billing", "sms", "--store", store, "--from", "hello", "--text", "BAL")
    assert done.returncode == 2
    assert done.stderr.startswith("error: --from 'hello': ")
    assert len(done.stderr.splitlines()) == 1
    assert done.stdout == ""


def test_sms_on_a_store_without_billing_data_says_to_import_first(tmp_path: Path) -> None:
    done = run(
        "billing", "sms", "--store", f"sqlite:///{tmp_path}/empty.db",
        "--from", "+79161234567", "--text", "BAL",
    )  # fmt: skip
    assert done.returncode == 2
    assert "billing import" in done.stderr
    assert len(done.stderr.splitlines()) == 1
