"""`smpp-engine billing close-period`, as a process, on a SQLite store."""

from __future__ import annotations

import json
from pathlib import Path

from .test_cli import run

EXAMPLE = Path(__file__).resolve().parent.parent / "config" / "billing-example.json"
CLOSED_ON = "2024-04-02T06:00:00+00:00"


def test_closing_a_month_twice_bills_it_once_and_says_what_it_did(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path}/close.db"
    assert run("billing", "import", str(EXAMPLE), "--store", store).returncode == 0
    first = run(
        "billing", "close-period", "2024-03", "--store", store, "--now", CLOSED_ON, "--json"
    )
    assert first.returncode == 0, first.stderr
    lines = first.stdout.strip().splitlines()
    assert lines[0].startswith("2024-03 closed: 5 account(s); 2 estimated (2 meter(s));")
    assert "5550001: no basis for an estimate" in first.stdout
    summary = json.loads(lines[-1])
    assert {k: summary[k] for k in ("accounts", "estimated_accounts", "fixed_charges")} == {
        "accounts": 5,
        "estimated_accounts": 2,
        "fixed_charges": 1,
    }
    assert (summary["penalties"], summary["penalty_amount"]) == (3, "173.82")
    assert summary["no_basis"] == ["5550001"] and summary["failed"] == []
    again = run(
        "billing", "close-period", "2024-03", "--store", store, "--now", CLOSED_ON, "--json"
    )
    assert again.returncode == 0, again.stderr
    second = json.loads(again.stdout.strip().splitlines()[-1])
    assert (second["estimated_meters"], second["fixed_charges"], second["penalties"]) == (0, 0, 0)
    assert second["charged"] == "0"
    plain = run("billing", "close-period", "2024-03", "--store", store, "--now", CLOSED_ON)
    assert plain.returncode == 0 and not plain.stdout.strip().splitlines()[-1].startswith("{")


def test_a_bad_period_or_an_unknown_utility_is_one_line_and_exit_2(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path}/bad.db"
    assert run("billing", "import", str(EXAMPLE), "--store", store).returncode == 0
    for period in ("2024-13", "March", "2024-3"):
        done = run("billing", "close-period", period, "--store", store)
        assert done.returncode == 2, done.stderr
        assert done.stderr.count("\n") == 1 and period in done.stderr
        assert "Traceback" not in done.stderr
    early = run(
        "billing", "close-period", "2024-03", "--store", store, "--now", "2024-03-31T12:00Z"
    )
    assert early.returncode == 2 and "not ended" in early.stderr
    unknown = run("billing", "close-period", "2024-03", "--utility", "nope", "--store", store)
    assert unknown.returncode == 2 and "nope" in unknown.stderr
    assert unknown.stderr.count("\n") == 1


def _example_in(zone: str, tmp_path: Path) -> Path:
    document = json.loads(EXAMPLE.read_text("utf-8"))
    document["utilities"][0]["time_zone"] = zone
    path = tmp_path / f"{zone.replace('/', '-')}.json"
    path.write_text(json.dumps(document), "utf-8")
    return path


def test_a_month_is_over_when_it_is_over_in_the_utilitys_time_zone(tmp_path: Path) -> None:
    # Los Angeles (UTC-7 in April): 03:00 UTC on 1 April is 20:00 on 31 March there,
    # and its meters may still be read.
    west = f"sqlite:///{tmp_path}/west.db"
    example = _example_in("America/Los_Angeles", tmp_path)
    assert run("billing", "import", str(example), "--store", west).returncode == 0
    early = run("billing", "close-period", "2024-03", "--store", west, "--now", "2024-04-01T03:00Z")
    assert early.returncode == 2 and early.stderr.count("\n") == 1
    assert "not ended" in early.stderr and "America/Los_Angeles" in early.stderr
    over = run("billing", "close-period", "2024-03", "--store", west, "--now", "2024-04-01T07:00Z")
    assert over.returncode == 0, over.stderr
    # Vladivostok (UTC+10): 15:00 UTC on 31 March is 01:00 on 1 April there.
    east = f"sqlite:///{tmp_path}/east.db"
    example = _example_in("Asia/Vladivostok", tmp_path)
    assert run("billing", "import", str(example), "--store", east).returncode == 0
    done = run("billing", "close-period", "2024-03", "--store", east, "--now", "2024-03-31T15:00Z")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("2024-03 closed: 5 account(s)")
    late = run("billing", "close-period", "2024-03", "--store", east, "--now", "2024-03-31T13:59Z")
    assert late.returncode == 2 and "not ended" in late.stderr
