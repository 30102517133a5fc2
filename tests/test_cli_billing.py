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
