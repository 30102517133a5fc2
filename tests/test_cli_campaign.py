"""`smpp-engine campaign` and `smpp-engine gateway`, as processes, on a SQLite store.

A debt-notice campaign is planned from a CSV file with bad and repeated rows,
queued, sent by a gateway process to the simulator, and followed to the end.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .test_cli import _command, run
from .test_cli_sim_send import simulator_port

__all__ = ["simulator_port"]  # the fixture, imported for pytest

CSV = """msisdn;name;amount;due
+44 7700 900001;Ann;12.30;15.12
+44 7700 900002;Bob;7.05;15.12
not-a-number;Eve;1.00;15.12
+44 7700 900003;Cyd;;15.12
+44 7700 900002;Bob again;7.05;15.12
+44 7700 900004;Dan;99.99;15.12
"""
TEMPLATE = "Dear {name}, your debt is {amount} EUR, due {due}. Pay to avoid a penalty."


@pytest.fixture
def recipients(tmp_path: Path) -> Path:
    path = tmp_path / "debtors.csv"
    path.write_text(CSV, encoding="utf-8")
    return path


def _create(store: str, recipients: Path, name: str, *extra: str) -> dict[str, object]:
    done = run(
        "campaign",
        "create",
        name,
        "--store",
        store,
        "--csv",
        str(recipients),
        "--template",
        TEMPLATE,
        "--sender",
        "WATERCO",
        "--rate",
        "100",
        "--quiet-weekday",
        "00:00-00:01",  # the test must not depend on the hour it runs at
        "--quiet-weekend",
        "00:00-00:01",
        "--json",
        *extra,
    )
    assert done.returncode == 0, done.stderr
    report: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


def test_dry_run_reports_bad_rows_by_line_and_queues_nothing(
    tmp_path: Path, recipients: Path
) -> None:
    store = f"sqlite:///{tmp_path}/dry.db"
    report = _create(store, recipients, "dry", "--dry-run")
    assert report["state"] == "dry-run"
    assert report["queued"] == 3
    assert report["duplicates"] == 1
    bad = {row["line"]: row["field"] for row in report["bad_rows"]}  # type: ignore[attr-defined]
    assert bad == {4: "msisdn", 5: "amount"}
    listed = run("campaign", "list", "--store", store, "--json")
    assert json.loads(listed.stdout) == []


def test_refusing_bad_rows_queues_nothing_and_names_every_line(
    tmp_path: Path, recipients: Path
) -> None:
    done = run(
        "campaign", "create", "strict", "--store", f"sqlite:///{tmp_path}/strict.db",
        "--csv", str(recipients), "--template", TEMPLATE, "--sender", "WATERCO",
        "--on-error", "refuse",
    )  # fmt: skip
    assert done.returncode == 2
    assert "4" in done.stderr and "5" in done.stderr


@pytest.fixture
def gateway(tmp_path: Path, simulator_port: int) -> Iterator[str]:
    store = f"sqlite:///{tmp_path}/gateway.db"
    process = subprocess.Popen(
        [
            *_command(),
            "gateway",
            "--store",
            store,
            "--host",
            "127.0.0.1",
            "--port",
            str(simulator_port),
            "--system-id",
            "utility",
            "--password",
            "secret",
            "--window",
            "8",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert json.loads(process.stdout.readline())["event"] == "running"
        yield store
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0


def test_campaign_is_sent_by_the_gateway_and_followed_to_completion(
    gateway: str, recipients: Path
) -> None:
    report = _create(gateway, recipients, "december-debts")
    assert report["state"] == "running"
    assert report["queued"] == 3
    deadline = time.monotonic() + 60
    while True:
        status = run("campaign", "status", "december-debts", "--store", gateway, "--json")
        assert status.returncode == 0, status.stderr
        figures = json.loads(status.stdout)
        if figures["state"] == "completed" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert figures["state"] == "completed"
    assert (figures["total"], figures["delivered"], figures["failed"]) == (3, 3, 0)
    assert figures["queued"] == 0 and figures["pending_receipts"] == 0


def test_pause_resume_and_cancel_a_campaign_that_has_not_started(
    tmp_path: Path, recipients: Path
) -> None:
    store = f"sqlite:///{tmp_path}/steer.db"
    _create(store, recipients, "later", "--start", "2099-01-01T09:00:00+00:00")

    def steer(action: str) -> str:
        done = run("campaign", action, "later", "--store", store, "--json")
        assert done.returncode == 0, done.stderr
        state: str = json.loads(done.stdout)["state"]
        return state

    assert steer("pause") == "paused"
    held = json.loads(run("campaign", "status", "later", "--store", store, "--json").stdout)
    assert held["by_state"] == {"held": 3}
    again = run("campaign", "pause", "later", "--store", store)
    assert again.returncode == 2 and "pause" in again.stderr
    assert steer("resume") == "running"
    assert steer("cancel") == "cancelled"
    final = json.loads(run("campaign", "status", "later", "--store", store, "--json").stdout)
    assert final["by_state"] == {"cancelled": 3}
    assert run("campaign", "status", "nope", "--store", store).returncode == 2


def test_a_campaign_from_a_group_skips_the_opted_out_but_a_legal_notice_does_not(
    tmp_path: Path,
) -> None:
    store = f"sqlite:///{tmp_path}/groups.db"
    members = tmp_path / "members.csv"
    members.write_text(
        "phone,name,amount,due\n+447700900011,Ann,1.00,1.1\n+447700900012,Bob,2.00,1.1\n",
        encoding="utf-8",
    )

    def cli(*args: str) -> dict[str, object]:
        done = run(*args, "--store", store, "--json")
        assert done.returncode == 0, done.stderr
        result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
        return result

    assert cli("campaign", "group", "create", "debtors", "--csv", str(members))["members"] == 2
    assert cli("campaign", "optout", "add", "+44 7700 900012")["added"] == 1
    common = ("--group", "debtors", "--template", TEMPLATE, "--sender", "WATERCO", "--dry-run")
    bulk = cli("campaign", "create", "bulk", *common)
    assert (bulk["queued"], bulk["skipped"]) == (1, {"opted_out": 1})
    legal = cli("campaign", "create", "legal", *common, "--kind", "legal_notice")
    assert (legal["queued"], legal["skipped"]) == (2, {})
    assert cli("campaign", "group", "remove", "debtors", "+447700900011")["removed"] == 1
    assert cli("campaign", "group", "list")["groups"] == [{"group": "debtors", "members": 1}]
    missing = run("campaign", "group", "add", "nobody", "--csv", str(members), "--store", store)
    assert missing.returncode == 2 and "nobody" in missing.stderr


def test_without_store_the_commands_use_the_settings_store(tmp_path: Path) -> None:
    settings = tmp_path / "engine.toml"
    settings.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path / "from-file.db"}"\n\n'
        '[[smsc]]\nname = "default"\nhost = "127.0.0.1"\nport = 2775\n'
        'system_id = "engine"\npassword = "x"\n'
    )
    made = run("campaign", "group", "create", "tenants", "--config", str(settings))
    assert made.returncode == 0, made.stderr
    listed = run("campaign", "group", "list", "--json", "--config", str(settings))
    assert "tenants" in listed.stdout
    assert (tmp_path / "from-file.db").exists()
    broken = run("campaign", "group", "list", "--config", str(tmp_path / "missing.toml"))
    assert broken.returncode == 2 and "missing.toml" in broken.stderr


def test_watching_a_campaign_that_is_over_shows_its_figures_and_ends(
    tmp_path: Path, recipients: Path
) -> None:
    store = f"sqlite:///{tmp_path}/watch.db"
    _create(store, recipients, "later", "--start", "2099-01-01T09:00:00+00:00")
    assert run("campaign", "cancel", "later", "--store", store).returncode == 0
    watched = run("campaign", "status", "later", "--watch", "--store", store)
    assert watched.returncode == 0, watched.stderr
    assert watched.stderr == ""
    assert "cancelled" in watched.stdout
    as_json = run("campaign", "status", "later", "--watch", "--json", "--store", store)
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout)["state"] == "cancelled"


def test_watching_a_running_campaign_follows_it_until_it_is_completed(
    gateway: str, recipients: Path
) -> None:
    _create(gateway, recipients, "watched")
    watched = run("campaign", "status", "watched", "--watch", "--store", gateway)
    assert watched.returncode == 0, watched.stderr
    assert "Traceback" not in watched.stderr
    assert "completed" in watched.stdout
    assert "3/3" in watched.stdout  # the progress bar: every message settled


def test_a_cancelled_campaign_counts_its_unsent_messages_as_cancelled_not_sent(
    tmp_path: Path, recipients: Path
) -> None:
    store = f"sqlite:///{tmp_path}/cancelled.db"
    _create(store, recipients, "withdrawn", "--start", "2099-01-01T09:00:00+00:00")
    assert run("campaign", "cancel", "withdrawn", "--store", store).returncode == 0
    figures = json.loads(run("campaign", "status", "withdrawn", "--store", store, "--json").stdout)
    assert figures["state"] == "cancelled"
    assert (figures["sent"], figures["failed"], figures["cancelled"]) == (0, 0, 3)
    table = run("campaign", "status", "withdrawn", "--store", store)
    assert table.returncode == 0, table.stderr
    assert "campaign withdrawn: cancelled" in table.stdout  # the state, not eaten as markup
    assert "cancelled (not sent) │        3" in table.stdout


def test_a_dry_run_says_it_queued_nothing(tmp_path: Path, recipients: Path) -> None:
    done = run(
        "campaign", "create", "rehearsal", "--store", f"sqlite:///{tmp_path}/dry.db",
        "--csv", str(recipients), "--template", TEMPLATE, "--sender", "WATERCO", "--dry-run",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "dry run, nothing stored or queued" in done.stdout
    assert "messages it would queue" in done.stdout
    assert "messages queued" not in done.stdout


def test_lists_are_tables_with_whole_timestamps_at_80_columns(
    tmp_path: Path, recipients: Path
) -> None:
    store = f"sqlite:///{tmp_path}/lists.db"
    _create(store, recipients, "a-campaign-with-a-long-name", "--route", "operator-a")
    members = tmp_path / "members.csv"
    members.write_text("msisdn\n+447700900011\n+447700900012\n", encoding="utf-8")
    assert run("campaign", "group", "create", "tenants", "--csv", str(members), "--store", store)
    groups = run("campaign", "group", "list", "--store", store)
    assert groups.returncode == 0, groups.stderr
    assert "{" not in groups.stdout and "[" not in groups.stdout  # no Python repr
    assert re.search(r"│ tenants +│ +2 │ \d{4}-\d\d-\d\d \d\d:\d\d:\d\d │", groups.stdout)
    campaigns = run("campaign", "list", "--store", store)  # not a terminal: 80 columns
    assert campaigns.returncode == 0, campaigns.stderr
    assert "…" not in campaigns.stdout
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", campaigns.stdout)


def test_no_quiet_hours_sends_at_any_hour(tmp_path: Path, recipients: Path) -> None:
    store = f"sqlite:///{tmp_path}/night.db"
    night = "2099-01-01T23:30:00+00:00"  # a Thursday, inside the default 22:00-08:00

    def first_send(*options: str) -> object:
        done = run(
            "campaign", "create", "night", "--store", store, "--csv", str(recipients),
            "--template", TEMPLATE, "--sender", "WATERCO", "--start", night, "--dry-run",
            "--json", *options,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)["first_send_at"]

    assert first_send() == "2099-01-02T08:00:00+00:00"  # the default waits for the morning
    assert first_send("--no-quiet-hours") == night
    both = run(
        "campaign", "create", "night", "--store", store, "--csv", str(recipients),
        "--template", TEMPLATE, "--sender", "WATERCO", "--no-quiet-hours",
        "--quiet-weekday", "21:00-07:00",
    )  # fmt: skip
    assert both.returncode == 2
    assert both.stderr == "error: --no-quiet-hours and --quiet-weekday: give one or the other\n"


def test_quiet_hours_default_to_the_settings_notices(tmp_path: Path, recipients: Path) -> None:
    store = f"sqlite:///{tmp_path}/night.db"
    night = "2099-01-01T23:30:00+00:00"  # a Thursday
    settings = tmp_path / "engine.toml"
    default = (Path(__file__).parents[1] / "config" / "default.toml").read_text("utf-8")
    mine = default.replace('quiet_weekday = "22:00-08:00"', 'quiet_weekday = "23:00-06:30"')
    settings.write_text(mine, "utf-8")

    def first_send(*options: str) -> object:
        done = run(
            "campaign", "create", "night", "--store", store, "--csv", str(recipients),
            "--template", TEMPLATE, "--sender", "WATERCO", "--start", night, "--dry-run",
            "--json", "--config", str(settings), *options,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)["first_send_at"]

    # The recipients are UK numbers (London time, UTC in January): 23:30 is inside the
    # settings' 23:00-06:30, which ends at 06:30, not at the default's 08:00.
    assert first_send() == "2099-01-02T06:30:00+00:00"
    # An option still wins over the settings.
    assert first_send("--time-zone", "UTC", "--quiet-weekday", "off") == night
