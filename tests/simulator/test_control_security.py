"""The control API against a hostile caller: files, bodies, headers, the token.

Every request goes over real HTTP to Hypercorn. The simulator's scenario folder
is a temporary one; beside it lies a "secret" file that no request may read.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

import pytest
import structlog
import trio

from smpp_engine.simulator import Scenario, Simulator

from .helpers import bound, http, running

SECRET = "SECRET-LINE-1234"
TOKEN = "control-token-0123456789abcdef"
HEALTHY = 'name = "folder-healthy"\n'


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """tmp/scenarios (the scenario folder) and, outside it, tmp/secret.csv and .toml."""
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    (scenarios / "healthy.toml").write_text(HEALTHY)
    (scenarios / "mo.csv").write_text("1,5566,from the folder\n")
    (scenarios / "sub").mkdir()
    (scenarios / "sub" / "deeper.toml").write_text('name = "deeper"\n')
    (tmp_path / "secret.csv").write_text(f"{SECRET},5566,x\n")
    (tmp_path / "secret.toml").write_text(f'name = "{SECRET}"\nkey = "{SECRET}"\n')
    (scenarios / "link.csv").symlink_to(tmp_path / "secret.csv")
    (scenarios / "link.toml").symlink_to(tmp_path / "secret.toml")
    return scenarios


def _outside(answer: dict[str, Any]) -> None:
    assert "outside the scenario folder" in answer["error"], answer
    assert SECRET not in json.dumps(answer)


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/mo", {"csv": "{outside}/secret.csv"}, "csv"),
        ("/mo", {"csv": "../secret.csv"}, "csv"),
        ("/mo", {"csv": "link.csv"}, "csv"),
        ("/mo", {"csv": "/etc/passwd"}, "csv"),
        ("/mo", {"csv": "sub/../../secret.csv"}, "csv"),
        ("/scenario", {"file": "{outside}/secret.toml"}, "file"),
        ("/scenario", {"file": "../secret.toml"}, "file"),
        ("/scenario", {"file": "link.toml"}, "file"),
        ("/scenario", {"file": "/proc/self/environ"}, "file"),
        ("/scenario", {"name": "../secret"}, "name"),
        ("/scenario", {"name": "{outside}/secret"}, "name"),
        ("/scenario", {"name": "link"}, "name"),
        ("/scenario", {"scenario": {"mo": {"csv": "../secret.csv"}}}, "scenario.mo.csv"),
        ("/scenario", {"scenario": {"mo": {"csv": "link.csv"}}}, "scenario.mo.csv"),
        ("/scenario", {"scenario": {"phases": [{"use": "../secret"}]}}, "scenario.phases[0].use"),
        ("/scenario", {"scenario": {"phases": [{"use": "/etc/passwd"}]}}, "scenario.phases[0].use"),
    ],
)
async def test_a_path_outside_the_scenario_folder_is_refused_unread(
    folder: Path, path: str, body: dict[str, Any], field: str
) -> None:
    text = json.dumps(body).replace("{outside}", str(folder.parent))
    async with running(control=True, scenario_dir=folder) as sim:
        status, answer = await http(sim.control_port, "POST", path, raw=text.encode())
        assert (status, answer["field"]) == (400, field)
        _outside(answer)
        assert sim.scenario.name == "default"
        assert sim.mo_log.injected == 0


async def test_files_inside_the_scenario_folder_are_used(folder: Path) -> None:
    async with running(control=True, scenario_dir=folder) as sim, bound(sim.port) as esme:
        port = sim.control_port
        status, answer = await http(port, "POST", "/scenario", {"name": "healthy"})
        assert (status, answer["scenario"]) == (200, "folder-healthy")
        status, answer = await http(port, "POST", "/scenario", {"file": "sub/deeper.toml"})
        assert (status, answer["scenario"]) == (200, "deeper")
        status, answer = await http(
            port, "POST", "/scenario", {"file": str(folder / "healthy.toml")}
        )
        assert (status, answer["scenario"]) == (200, "folder-healthy")
        inline = {"name": "csv", "mo": {"csv": "mo.csv", "csv_system_id": "esme"}}
        status, answer = await http(port, "POST", "/scenario", {"scenario": inline})
        assert (status, answer["scenario"]) == (200, "csv")
        status, answer = await http(port, "POST", "/mo", {"csv": "mo.csv"})
        assert (status, answer) == (200, {"rows": 1})
        delivered = await esme.wait_delivered(2)
        assert {d.short_message for d in delivered} == {b"from the folder"}


async def test_the_folder_defaults_to_the_scenario_file_s(folder: Path) -> None:
    sim = Simulator(folder / "sub" / "deeper.toml", control_port=0)
    assert sim.folder.path == (folder / "sub").resolve()
    async with trio.open_nursery() as nursery:
        await nursery.start(sim.run)
        status, answer = await http(sim.control_port, "POST", "/scenario", {"name": "healthy"})
        assert (status, answer["field"]) == (400, "name")
        assert "no such file in the scenario folder" in answer["error"]
        status, answer = await http(sim.control_port, "POST", "/scenario", {"name": "deeper"})
        assert (status, answer["scenario"]) == (200, "deeper")
        nursery.cancel_scope.cancel()


async def test_without_a_scenario_folder_no_file_is_opened() -> None:
    async with running(Scenario(), control=True) as sim:
        assert sim.folder.path is None
        for body, field in (
            ({"name": "healthy"}, "name"),
            ({"file": "healthy.toml"}, "file"),
            ({"scenario": {"mo": {"csv": "mo.csv"}}}, "scenario.mo.csv"),
        ):
            status, answer = await http(sim.control_port, "POST", "/scenario", body)
            assert (status, answer["field"]) == (400, field)
            assert "no scenario folder" in answer["error"]
        status, answer = await http(sim.control_port, "POST", "/mo", {"csv": "mo.csv"})
        assert (status, answer["field"]) == (400, "csv")


async def test_errors_about_a_file_in_the_folder_quote_none_of_it(folder: Path) -> None:
    (folder / "bad.csv").write_text(f"1,5566,ok\n{SECRET},5566\n")
    (folder / "bad.toml").write_text(
        f'name = "bad"\n[submit]\nstatuses = {{ "{SECRET}" = 1 }}\n[throttle]\ntps = "{SECRET}"\n'
    )
    (folder / "broken.toml").write_text(f"{SECRET} ?= \n")
    (folder / "uses_bad.toml").write_text('[[phases]]\nuse = "bad"\n')
    async with running(control=True, scenario_dir=folder) as sim:
        with structlog.testing.capture_logs() as logs:
            port = sim.control_port
            status, answer = await http(port, "POST", "/mo", {"csv": "bad.csv"})
            assert (status, answer["field"]) == (400, "csv")
            assert answer["error"].startswith("line 2: row: expected 3 or 4 columns")
            answers = [answer]
            for body, field in (
                ({"name": "bad"}, "name"),
                ({"file": "broken.toml"}, "file"),
                ({"name": "uses_bad"}, "name"),
                ({"scenario": {"phases": [{"use": "bad"}]}}, "scenario.phases[0].use"),
            ):
                status, answer = await http(port, "POST", "/scenario", body)
                assert (status, answer["field"]) == (400, field)
                answers.append(answer)
        for answer in answers:
            assert SECRET not in json.dumps(answer), answer
        assert "bad.toml: invalid (the simulator's log has the details)" in answers[1]["error"]
        assert "broken.toml: not valid TOML (at line 1, column" in answers[2]["error"]
        assert "phases[0].use: bad.toml: invalid" in answers[3]["error"]
        assert "phases[0].use: bad.toml: invalid" in answers[4]["error"]
        # The operator finds the whole story in the log.
        assert any(SECRET in str(entry) for entry in logs if entry["event"] == "scenario refused")
        assert sim.scenario.name == "default"


async def test_csv_text_plays_and_its_errors_name_line_and_column() -> None:
    async with running(control=True) as sim, bound(sim.port) as esme:
        port = sim.control_port
        text = "source,destination,text,delay\n1,5566,one,0\n2,5566,two,0\n"
        status, answer = await http(port, "POST", "/mo", {"csv_text": text, "delay": 0})
        assert (status, answer) == (200, {"rows": 2})
        delivered = await esme.wait_delivered(2)
        assert [d.short_message for d in delivered] == [b"one", b"two"]
        for text, error in (
            ("1,5566\n", "line 1: row: expected 3 or 4 columns"),
            ("1,5566,x,soon\n", "line 1: delay: not a number of seconds"),
            ("1\x00,5566,x\n", "line 1: source: must be 1-20 printable ASCII"),
            ('1,5566,"' + "x" * 200_000 + '"\n', "line 1: row: not CSV"),
        ):
            status, answer = await http(port, "POST", "/mo", {"csv_text": text})
            assert (status, answer["field"]) == (400, "csv_text"), answer
            assert answer["error"].startswith(error), answer
        status, answer = await http(port, "POST", "/mo", {"csv_text": "1,2,x\n", "csv": "a.csv"})
        assert (status, answer["field"]) == (400, "body")


# --- bodies ------------------------------------------------------------------------------

DEEP_LIST = b"[" * 100_000
DEEP_OBJECT = b'{"a":' * 5000 + b"1" + b"}" * 5000
DEEP_SCENARIO = b'{"scenario":' + b'{"smsc":' * 900 + b"1" + b"}" * 901
SURROGATES = [
    b'{"source":"1","destination":"2","text":"\\ud800"}',
    b'{"\\udfff":"1"}',
    b'{"name":"\\ud800"}',
    b'{"scenario":{"name":"\\udbff"}}',
    b'{"system_id":"\\ud800"}',
    b'{"csv_text":"1,2,\\ud800\\n"}',
]


@pytest.mark.parametrize(
    ("path", "raw", "status", "error"),
    [
        ("/mo", DEEP_LIST, 400, "nested deeper than 32 levels"),
        ("/mo", DEEP_OBJECT, 400, "nested deeper than 32 levels"),
        ("/scenario", DEEP_SCENARIO, 400, "nested deeper than 32 levels"),
        *(("/mo", raw, 400, "lone surrogate") for raw in SURROGATES[:2]),
        ("/scenario", SURROGATES[2], 400, "lone surrogate"),
        ("/scenario", SURROGATES[3], 400, "lone surrogate"),
        ("/faults/drop", SURROGATES[4], 400, "lone surrogate"),
        ("/mo", SURROGATES[5], 400, "lone surrogate"),
        ("/faults/stall", b'{"duration": NaN}', 400, "NaN is not a JSON number"),
        ("/mo", b'{"csv_text": "1,2,x", "delay": Infinity}', 400, "Infinity is not"),
        ("/faults/stall", b'{"duration": 1e999}', 400, "out of range"),
        ("/mo", b'{"data_coding": ' + b"9" * 5000 + b"}", 400, "too many digits"),
        ("/mo", b'{"text": "\xff\xfe"}', 400, "not UTF-8"),
        ("/mo", b"{nope", 400, "invalid JSON"),
        ("/mo", b"[1, 2]", 400, "expected a JSON object"),
        ("/mo", json.dumps({"text": "x" * (1 << 20)}).encode(), 413, "larger than 1048576"),
    ],
)
async def test_a_hostile_body_is_a_4xx(path: str, raw: bytes, status: int, error: str) -> None:
    async with running(control=True) as sim:
        got, answer = await http(sim.control_port, "POST", path, raw=raw)
        assert got == status, answer
        assert error in answer["error"], answer
        assert sim.mo_log.injected == 0


async def test_a_body_too_large_is_refused_as_it_arrives_without_a_length() -> None:
    """Chunked: no Content-Length to refuse up front; the count stops it at 1 MiB."""
    async with running(control=True) as sim:
        stream = await trio.open_tcp_stream("127.0.0.1", sim.control_port)
        chunk = b"x" * 65536
        head = (
            f"POST /mo HTTP/1.1\r\nHost: 127.0.0.1:{sim.control_port}\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        ).encode()
        body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(20)) + b"0\r\n\r\n"
        with trio.fail_after(10):
            async with stream:
                with suppress(trio.BrokenResourceError):
                    await stream.send_all(head + body)
                answer = b""
                try:
                    while not answer.endswith(b"}") and (data := await stream.receive_some()):
                        answer += data
                except trio.BrokenResourceError:
                    pass
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ({"Content-Type": "application/x-www-form-urlencoded"}, b"source=1&text=x"),
        ({"Content-Type": "text/plain"}, b"{}"),
        ({"Content-Type": "multipart/form-data; boundary=x"}, b"--x--"),
        ({"Content-Type": ""}, b'{"source": "1", "destination": "2", "text": "x"}'),
        ({"Content-Type": "text/plain"}, b""),  # a cross-site form posts no field
    ],
)
async def test_a_body_that_is_not_json_is_a_415(headers: dict[str, str], body: bytes) -> None:
    async with running(control=True) as sim:
        status, answer = await http(
            sim.control_port, "POST", "/faults/drop", raw=body, headers=headers
        )
        assert (status, answer["field"]) == (415, "content-type")


async def test_a_post_without_a_body_needs_no_content_type() -> None:
    async with running(control=True) as sim:
        status, answer = await http(
            sim.control_port, "POST", "/faults/clear", headers={"Content-Type": ""}
        )
        assert (status, answer["fault"]) == (200, "clear")
        status, answer = await http(
            sim.control_port,
            "POST",
            "/faults/clear",
            body={},
            headers={"Content-Type": "application/json; charset=utf-8"},
        )
        assert status == 200


# --- headers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "status"),
    [
        ("127.0.0.1:{port}", 200),
        ("localhost:{port}", 200),
        ("LOCALHOST:{port}", 200),
        ("[::1]:{port}", 200),
        ("evil.example", 421),
        ("evil.example:{port}", 421),
        ("127.0.0.1", 421),  # port 80
        ("127.0.0.1:1", 421),
        ("localhost.evil.example:{port}", 421),
        ("10.0.0.1:{port}", 421),
        ("::1:{port}", 421),
        ("127.0.0.1:{port}0", 421),
        ("127.0.0.1:+{port}", 421),
    ],
)
async def test_only_the_hosts_it_serves(host: str, status: int) -> None:
    async with running(control=True) as sim:
        port = sim.control_port
        got, answer = await http(port, "GET", "/stats", headers={"Host": host.format(port=port)})
        assert got == status, answer
        if status == 421:
            assert answer["field"] == "host"


async def test_a_request_without_host_is_refused() -> None:
    async with running(control=True) as sim:
        stream = await trio.open_tcp_stream("127.0.0.1", sim.control_port)
        async with stream:
            await stream.send_all(b"GET /stats HTTP/1.0\r\n\r\n")
            answer = b""
            while data := await stream.receive_some():
                answer += data
        assert answer.startswith(b"HTTP/1.1 421") or answer.startswith(b"HTTP/1.0 421"), answer


async def test_a_wildcard_bind_serves_addresses_but_no_names() -> None:
    async with running(control=True, control_host="0.0.0.0") as sim:
        port = sim.control_port
        for host, status in (("192.0.2.7", 200), ("[2001:db8::1]", 200), ("rebind.example", 421)):
            got, _ = await http(port, "GET", "/stats", headers={"Host": f"{host}:{port}"})
            assert got == status, host


@pytest.mark.parametrize(
    ("origin", "status"),
    [
        ("http://127.0.0.1:{port}", 200),
        ("http://localhost:{port}", 200),
        ("http://evil.example", 403),
        ("http://evil.example:{port}", 403),
        ("http://127.0.0.1:1", 403),
        ("null", 403),
        ("http://[::1", 403),
    ],
)
async def test_a_cross_origin_request_is_refused(origin: str, status: int) -> None:
    async with running(control=True) as sim:
        port = sim.control_port
        got, answer = await http(
            port, "POST", "/faults/clear", headers={"Origin": origin.format(port=port)}
        )
        assert got == status, answer
        assert sim.stats()["refusing_binds"] is False


# --- the token ---------------------------------------------------------------------------


@asynccontextmanager
async def with_token() -> AsyncIterator[Simulator]:
    async with running(control=True, control_token=TOKEN) as sim:
        yield sim


@pytest.mark.parametrize("route", ["/stats", "/messages", "/mo", "/metrics"])
@pytest.mark.parametrize(
    "authorization",
    [
        "",
        "Bearer",
        "Bearer ",
        "Bearer wrong",
        f"Bearer {TOKEN[:-1]}",
        f"Bearer {TOKEN}x",
        f"Basic {TOKEN}",
        TOKEN,
        "Bearer \xff\xfe",
    ],
)
async def test_every_route_needs_the_token(route: str, authorization: str) -> None:
    async with with_token() as sim:
        status, answer = await http(
            sim.control_port, "GET", route, headers={"Authorization": authorization}
        )
        assert status == 401
        assert answer["field"] == "authorization"
        assert TOKEN not in json.dumps(answer)


async def test_the_token_opens_every_route_and_is_never_shown() -> None:
    with structlog.testing.capture_logs() as logs:
        async with with_token() as sim, bound(sim.port) as esme:
            port = sim.control_port
            for route in ("/stats", "/messages", "/mo", "/metrics"):
                status, answer = await http(port, "GET", route, token=TOKEN)
                assert status == 200, route
                assert TOKEN not in str(answer)
            status, answer = await http(
                port,
                "POST",
                "/mo",
                {"source": "1", "destination": "5566", "text": "hi"},
                headers={"Authorization": f"bearer   {TOKEN}"},
            )
            assert status == 200
            await esme.wait_delivered(1)
            status, answer = await http(port, "POST", "/faults/drop", token=TOKEN)
            assert (status, answer["connections"]) == (200, 1)
            assert TOKEN not in repr(sim.stats())
    assert TOKEN not in repr(logs)


async def test_a_short_token_is_refused_without_quoting_it() -> None:
    with pytest.raises(ValueError, match="at least 16 characters") as caught:
        Simulator(Scenario(), control_port=0, control_token="short-token")
    assert "short-token" not in str(caught.value)


def test_the_sim_command_takes_the_token_from_the_environment(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "smpp_engine", "sim", "--port", "0", "--control-port", "0"]
    env = {**os.environ, "SMPP_SIM_CONTROL_TOKEN": "too-short"}
    refused = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert refused.returncode == 2
    assert "at least 16 characters" in refused.stderr
    assert "too-short" not in refused.stderr + refused.stdout
    env["SMPP_SIM_CONTROL_TOKEN"] = TOKEN
    (tmp_path / "own.toml").write_text('name = "own"\n')
    process = subprocess.Popen(
        [*command, "--scenario-dir", str(tmp_path)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        ready = json.loads(process.stdout.readline())
        port = int(ready["control_port"])

        async def check() -> None:
            status, _ = await http(port, "GET", "/stats")
            assert status == 401
            status, answer = await http(port, "POST", "/scenario", {"name": "own"}, token=TOKEN)
            assert (status, answer["scenario"]) == (200, "own")

        trio.run(check)
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=10)
    assert TOKEN not in stderr
