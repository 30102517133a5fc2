"""`smpp-engine notices plan|run`, as a process, on SQLite and PostgreSQL stores.

The example utility on 20 March 2024 (a reminder day) at 09:00 UTC: 8880001 owes
10,000.00 (a debt notice); every account's last reading is February's (five
reminders, one per phone: 7770001 has two phones).
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import pytest

from billing_core import NoticeKind, NoticeRecord, Service
from smpp_engine.billing import queue_notices
from smpp_engine.cli.store import StoreQueue
from smpp_engine.store import BillingStore, open_store

from .store.conftest import store_url_of
from .test_cli import run

EXAMPLE = Path(__file__).resolve().parent.parent / "config" / "billing-example.json"
AT = "2024-03-20T09:00:00+00:00"
# 9990001 owes three months of electricity: a debt notice and a disconnection warning.
GOING = {"debt": 2, "disconnection_warning": 1, "reading_reminder": 6}


def _json(stdout: str) -> dict[str, object]:
    return dict(json.loads(stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_plan_previews_run_queues_once_and_a_second_run_nothing(
    kind: str, tmp_path: Path
) -> None:
    async with store_url_of(kind, tmp_path) as store:
        assert run("billing", "import", str(EXAMPLE), "--store", store).returncode == 0
        plan = run("notices", "plan", "--now", AT, "--json", "--store", store)
        assert plan.returncode == 0, plan.stderr
        assert "8880001 debt 79160000004 in queued" in plan.stdout
        assert "1234567890 debt - out below_threshold" in plan.stdout
        previewed = _json(plan.stdout)
        assert previewed["dry_run"] is True and previewed["going"] == GOING
        dry = run("notices", "run", "--now", AT, "--dry-run", "--json", "--store", store)
        assert _json(dry.stdout)["queued"] == {}
        first = run("notices", "run", "--now", AT, "--store", store)
        assert first.returncode == 0, first.stderr
        assert "queued 9 notice(s)" in first.stdout
        summary = _json(first.stdout)
        assert summary["queued"] == GOING
        assert summary["skipped"] == {
            "debt": {"below_threshold": 3},
            "disconnection_warning": {"below_threshold": 4},
            "meter_verification": {"not_reminder_day": 5},  # E-1's is due 15.05
            "payment_reminder": {"below_threshold": 3, "not_reminder_day": 2},  # overdue
        }
        again = run("notices", "run", "--now", AT, "--json", "--store", store)
        assert again.returncode == 0, again.stderr
        assert again.stdout.count("\n") == 1  # --json: the JSON line alone
        second = _json(again.stdout)
        assert second["queued"] == {} and second["going"] == {}
        assert second["skipped"]["reading_reminder"] == {"already_sent": 6}  # type: ignore[index]


def test_the_settings_quiet_hours_hold_notices(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path}/quiet.db"
    config = tmp_path / "engine.toml"
    config.write_text(
        f'[store]\nurl = "{store}"\n'
        '[[smsc]]\nname = "default"\nhost = "127.0.0.1"\nport = 2775\n'
        'system_id = "engine"\npassword = "x"\n'
        '[notices]\nquiet_weekday = "00:30-23:30"\n'
    )
    assert run("billing", "import", str(EXAMPLE), "--config", str(config)).returncode == 0
    done = run("notices", "run", "--now", AT, "--json", "--config", str(config))
    assert done.returncode == 0, done.stderr
    summary = _json(done.stdout)
    # 12:00 in Moscow is quiet by these settings (not by the utility's): all wait.
    assert summary["held_for_quiet_hours"] == GOING and summary["queued"] == GOING
    plan = run("notices", "plan", "--now", AT, "--config", str(config))
    assert "already_sent" in plan.stdout


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--now", "yesterday"), "--now 'yesterday': expected ISO 8601"),
        (("--now", "2024-03-20T09:00"), "give a time zone"),
        (("--now", "0001-01-01T00:00:00+14:00"), "a year from 1971"),
        (("--utility", "nope"), "--utility 'nope'"),
    ],
)
def test_mistakes_are_one_line_and_exit_2(tmp_path: Path, args: tuple[str, ...], says: str) -> None:
    store = f"sqlite:///{tmp_path}/bad.db"
    assert run("billing", "import", str(EXAMPLE), "--store", store).returncode == 0
    for command in ("plan", "run"):
        done = run("notices", command, *args, "--store", store)
        assert done.returncode == 2, done.stderr
        assert says in done.stderr and done.stderr.count("\n") == 1


def test_an_empty_store_says_to_import_billing_data_first(tmp_path: Path) -> None:
    done = run("notices", "run", "--now", AT, "--store", f"sqlite:///{tmp_path}/empty.db")
    assert done.returncode == 2
    assert "run smpp-engine billing import FILE first" in done.stderr
    assert done.stderr.count("\n") == 1


async def test_warnings_lists_each_warning_and_its_proof(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    assert run("billing", "import", str(EXAMPLE), "--store", url).returncode == 0
    sent = datetime(2024, 4, 20, 10, tzinfo=UTC)
    async with open_store(url) as store:
        billing = cast(BillingStore, store)
        warning = NoticeRecord(
            NoticeKind.DISCONNECTION_WARNING, "8880001", "79160000004", "Долг", sent, None,
            Service.ELECTRICITY,
        )  # fmt: skip
        (saved,) = await billing.save_run_notices(
            [replace(warning, key="notice:disconnection_warning:8880001:e:2024-04:79160000004")],
            ["8880001"],
        )
        await queue_notices(billing, StoreQueue(store), [saved], route="default")
    waiting = run("notices", "warnings", "--now", "2024-04-20T11:00:00+00:00", "--store", url)
    assert waiting.returncode == 0, waiting.stderr
    assert "8880001 79160000004 awaiting attempts 1" in waiting.stdout
    due = run("notices", "warnings", "--now", "2024-04-23T11:00:00+00:00", "--store", url, "--json")
    listed = _json(due.stdout)
    assert listed["counts"] == {"proven": 0, "awaiting": 0, "retry": 1, "unreached": 0}
    assert listed["retried"] == []  # it lists; the gateway sends


def test_the_settings_time_zones_are_not_the_consumers_clock(tmp_path: Path) -> None:
    """[notices] time_zone and time_zone_prefixes guess campaign recipients' zones from
    their numbers; a billing notice's clock is the account's, else the utility's
    (Moscow in the example), as config/README.md says."""
    store = f"sqlite:///{tmp_path}/zones.db"
    config = tmp_path / "engine.toml"
    config.write_text(
        f'[store]\nurl = "{store}"\n'
        '[[smsc]]\nname = "default"\nhost = "127.0.0.1"\nport = 2775\n'
        'system_id = "engine"\npassword = "x"\n'
        # 23:00 on the 20th in Kiritimati (UTC+14) at AT: inside the quiet hours there.
        '[notices]\ntime_zone = "Pacific/Kiritimati"\n'
        'time_zone_prefixes = { "7916" = "Pacific/Kiritimati" }\n'
    )
    assert run("billing", "import", str(EXAMPLE), "--config", str(config)).returncode == 0
    done = run("notices", "run", "--now", AT, "--json", "--config", str(config))
    assert done.returncode == 0, done.stderr
    summary = _json(done.stdout)
    # 12:00 in Moscow: nothing waits.
    assert summary["held_for_quiet_hours"] == {} and summary["queued"] == summary["going"]
    assert summary["going"]


async def test_a_run_sizes_its_texts_as_the_billing_routes_smsc_takes_text(
    tmp_path: Path,
) -> None:
    """On an SMSC whose default alphabet is IA5, "€" forces UCS-2: the 71-character
    payment reminder of the HTTP API's test (Spanish, in euros) goes as its shorter variant."""
    from .http_api.test_billing_notices import _spanish_in_euros  # noqa: PLC0415

    url = f"sqlite:///{tmp_path}/ia5.db"
    document = tmp_path / "spanish.json"
    document.write_text(json.dumps(_spanish_in_euros()), "utf-8")
    config = tmp_path / "engine.toml"
    config.write_text(
        f'[store]\nurl = "{url}"\n'
        '[[smsc]]\nname = "default"\nhost = "127.0.0.1"\nport = 2775\n'
        'system_id = "engine"\npassword = "x"\ndefault_alphabet = "ia5"\n'
    )
    assert run("billing", "import", str(document), "--config", str(config)).returncode == 0
    done = run("notices", "run", "--now", AT, "--config", str(config))
    assert done.returncode == 0, done.stderr
    async with open_store(url) as store:
        notices = await cast(BillingStore, store).recent_notices("1234567890", limit=10)
    assert [s.notice.text for s in notices if s.notice.kind.value == "payment_reminder"] == [
        "Recuerde pagar 2.500,00 € antes del 23/03"
    ]
