"""``smpp-engine run``, ``status`` and ``demo`` as an operator runs them: real processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from smpp_engine.settings import hash_api_key

KEY = "cli-test-key-42"
COMMAND = [sys.executable, "-m", "smpp_engine"]


def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "engine.toml"
    path.write_text(
        f"""
[store]
url = "sqlite:///{tmp_path / "engine.db"}"

[log]
format = "json"

[http]
port = 0
api_keys = [{{ name = "ops", sha256 = "{hash_api_key(KEY)}" }}]

[simulator]
enabled = true
port = 0
system_id = "engine"
password = "in-env"

[[smsc]]
name = "default"
host = "127.0.0.1"
port = 2775
system_id = "engine"
password = "set-by-env"
window = 16
"""
    )
    return path


def first_line(process: subprocess.Popen[str]) -> dict[str, Any]:
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line, f"no output; stderr: {process.stderr.read() if process.stderr else ''}"
    loaded: dict[str, Any] = json.loads(line)
    return loaded


def test_run_serves_until_ctrl_c_then_stops_gracefully_and_status_tells_the_fate(
    tmp_path: Path,
) -> None:
    config = config_file(tmp_path)
    # The secrets come from the environment, not the file.
    env = {
        **os.environ,
        "SMPP_ENGINE__SMSC__DEFAULT__PASSWORD": "s3cret",
        "SMPP_ENGINE__SIMULATOR__PASSWORD": "s3cret",
    }
    process = subprocess.Popen(
        [*COMMAND, "run", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        running = first_line(process)
        assert running["event"] == "running"
        base = f"http://127.0.0.1:{running['http_port']}"
        with httpx.Client(base_url=base, headers={"X-API-Key": KEY}, timeout=10) as client:
            posted = client.post(
                "/v1/messages", json={"to": "447700900777", "from": "ACME", "text": "Hello"}
            )
            assert posted.status_code == 201, posted.text
            message_id = posted.json()["id"]
            deadline = time.monotonic() + 30
            while client.get(f"/v1/messages/{message_id}").json()["state"] != "delivered":
                assert time.monotonic() < deadline, "not delivered in 30 s"
                time.sleep(0.1)
        # What the routes do, asked of the running gateway.
        shown = subprocess.run(
            [*COMMAND, "routes", "--url", base, "--json"],
            capture_output=True,
            text=True,
            env={**env, "SMPP_ENGINE_API_KEY": KEY},
            check=False,
        )
        assert shown.returncode == 0, shown.stderr
        (route,) = json.loads(shown.stdout)["routes"]
        assert (route["name"], route["binds_up"], route["queue"]["delivered"]) == ("default", 1, 1)
        table = subprocess.run(
            [*COMMAND, "routes", "--url", base, "--key", KEY],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        assert table.returncode == 0 and "default" in table.stdout, table.stderr
        refused = subprocess.run(
            [*COMMAND, "routes", "--url", base, "--key", "wrong"],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        assert refused.returncode == 2 and "API key was refused" in refused.stderr
        _steer_and_reload(process, config, base, env)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert json.loads(out.splitlines()[-1]) == {"event": "stopped"}
    logged = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    events = [entry["event"] for entry in logged]
    assert "stopping: draining the windows" in events and "gateway stopped" in events
    assert not [event for event in events if "no API key" in event]
    assert "s3cret" not in err and "s3cret" not in out  # the password is never logged

    status = subprocess.run(
        [*COMMAND, "status", str(message_id), "--config", str(config), "--json"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert status.returncode == 0, status.stderr
    found = json.loads(status.stdout)
    assert found["state"] == "delivered"
    assert found["part_details"][0]["smsc_message_id"]
    table = subprocess.run(
        [*COMMAND, "status", str(message_id), "--config", str(config)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert table.returncode == 0 and "delivered" in table.stdout
    missing = subprocess.run(
        [*COMMAND, "status", "999999", "--config", str(config)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert missing.returncode == 1 and "no message with id 999999" in missing.stderr


def test_run_warns_when_the_http_api_has_no_key(tmp_path: Path) -> None:
    config = config_file(tmp_path)
    config.write_text(config.read_text().replace("api_keys = [", "# api_keys = ["))
    env = {**os.environ, "SMPP_ENGINE__SMSC__DEFAULT__PASSWORD": "s3cret"}
    env["SMPP_ENGINE__SIMULATOR__PASSWORD"] = "s3cret"
    process = subprocess.Popen(
        [*COMMAND, "run", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert first_line(process)["event"] == "running"
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0, err
    logged = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    (warning,) = [entry for entry in logged if "no API key" in entry["event"]]
    assert warning["level"] == "warning"
    assert "every /v1 request is refused with 401" in warning["event"]
    assert warning["make_one"] == "smpp-engine config add-key NAME --config FILE"


def test_run_refuses_a_broken_settings_file_naming_the_key(tmp_path: Path) -> None:
    config = config_file(tmp_path)
    config.write_text(config.read_text().replace("window = 16", 'window = "many"'))
    done = subprocess.run(
        [*COMMAND, "run", "--config", str(config)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 2
    assert "smsc" in done.stderr and "window" in done.stderr and "many" in done.stderr


def test_demo_runs_the_whole_product_and_reports(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            *COMMAND,
            "demo",
            "--consumers",
            "90",
            "--readings",
            "12",
            "--balances",
            "6",
            "--mo-rate",
            "50",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.splitlines()[-1])
    assert report["notices"] == 30  # every third consumer is in debt
    assert sum(report["notices_by_state"].values()) == 30  # each with its fate
    assert report["notices_by_state"].get("delivered", 0) > 0
    assert (report["mo_sent"], report["replies"], report["unanswered"]) == (18, 18, 0)
    replies = {example["sms"]: example["reply"] for example in report["examples"]}
    assert any("accepted" in reply and "EUR" in reply for reply in replies.values())
    assert replies.get("BAL", "").startswith("Acc ")
    assert set(report["round_trip_ms"]) == {"p50", "p99", "max"}


def test_demo_keep_running_serves_metrics_after_the_report_until_ctrl_c() -> None:
    process = subprocess.Popen(
        [*COMMAND, "demo", "--consumers", "30", "--readings", "3", "--balances", "2",
         "--json", "--keep-running"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        report = json.loads(process.stdout.readline())
        assert report["notices"] == 10
        url = report["http_url"]
        assert url.startswith("http://127.0.0.1:")
        metrics = httpx.get(f"{url}/metrics", timeout=30)
        assert metrics.status_code == 200
        assert "smpp_pdus_total" in metrics.text
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    assert "keeps running" in stderr and "Ctrl-C" in stderr
    assert "Traceback" not in stderr
    with_view = subprocess.run(
        [*COMMAND, "demo", "--consumers", "30", "--readings", "3", "--balances", "2"],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert with_view.returncode == 0, with_view.stderr
    assert "http://" not in with_view.stdout  # without --keep-running no address is offered
    assert "--keep-running" in with_view.stdout
    assert "deliver_sm" in with_view.stdout  # what the round trip measures is said


def test_status_shows_what_a_message_holds_as_written(capsys: Any) -> None:
    from smpp_engine.cli.run import _print_message  # noqa: PLC0415

    _print_message(
        {
            "id": 7,
            "state": "failed",
            "error": {"name": "ESME_RSUBMITFAIL"},
            "route": "[primary]",
            "from": "ACME",
            "to": "447700900777",
            "parts": 1,
            "priority": "bulk",
            "attempts": 2,
            "possible_duplicate": False,
            "part_details": [
                {
                    "part": 1,
                    "state": "failed",
                    "smsc_message_id": "[bold]ab12",
                    "bind": "acme#1",
                    "submitted_at": "2026-12-05T03:00:00Z",
                    "receipt": None,
                }
            ],
            "events": [
                {"at": "2026-12-05T03:00:01Z", "event": "rejected", "detail": "text [red]x[/red]"}
            ],
        }
    )
    shown = capsys.readouterr().out
    for written in ("[primary]", "[bold]ab12", "text [red]x[/red]"):
        assert written in shown


READER = "reader-key-0123456789"


def _steer_and_reload(
    process: subprocess.Popen[str], config: Path, base: str, env: dict[str, str]
) -> None:
    """SIGHUP reloads the file (a read-only key added); routes pause|resume|rebind steer."""

    def cli(*args: str, key: str = KEY) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*COMMAND, "routes", *args, "--url", base, "--key", key],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )

    text = config.read_text("utf-8")
    reader = f'{{ name = "reader", sha256 = "{hash_api_key(READER)}", scopes = ["read"] }}'
    config.write_text(text.replace("api_keys = [", f"api_keys = [{reader}, "))
    process.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 30
    with httpx.Client(base_url=base, headers={"X-API-Key": READER}, timeout=10) as client:
        while client.get("/v1/routes").status_code != 200:
            assert time.monotonic() < deadline, "the reload did not add the key in 30 s"
            time.sleep(0.1)
    forbidden = cli("pause", "default", key=READER)
    assert forbidden.returncode == 2 and len(forbidden.stderr.splitlines()) == 1
    assert "scope 'admin'" in forbidden.stderr
    paused = cli("pause", "default")
    assert paused.returncode == 0, paused.stderr
    assert json.loads(paused.stdout)["paused"] is True
    shown = json.loads(cli("--json").stdout)["routes"][0]
    assert shown["paused"] is True and shown["paused_by"] == "ops"
    assert json.loads(cli("resume", "default").stdout)["paused"] is False
    assert json.loads(cli("rebind", "default").stdout)["rebinding"] is True
    unknown = cli("pause", "nowhere")
    assert unknown.returncode == 2 and "no route is called 'nowhere'" in unknown.stderr


def test_status_shows_the_rule_that_chose_the_route_and_the_plan(tmp_path: Path) -> None:
    import trio  # noqa: PLC0415 - only this test writes the store itself

    from smpp_engine.store import NewMessage, open_store  # noqa: PLC0415

    url = f"sqlite:///{tmp_path / 'routed.db'}"

    async def accept() -> int:
        async with open_store(url) as store:
            message = NewMessage(
                smsc="primary",
                source="ACME",
                destination="447700900123",
                text="Your bill is ready",
                route_rule="uk-bulk",
                route_plan=("primary", "backup"),
            )
            (accepted,) = await store.accept([message], now=time.time())
            return accepted.message_id

    message_id = trio.run(accept)
    shown = subprocess.run(
        [*COMMAND, "status", str(message_id), "--store", url],
        capture_output=True,
        text=True,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    assert "Routing: rule uk-bulk, plan primary -> backup" in shown.stdout
    as_json = subprocess.run(
        [*COMMAND, "status", str(message_id), "--store", url, "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    found = json.loads(as_json.stdout)
    assert (found["route_rule"], found["route_plan"]) == ("uk-bulk", ["primary", "backup"])
