"""Every shell block of README.md, config/README.md and docs/simulator.md runs as shown.

Each block runs in a fresh folder holding a copy of ``config/`` and the files
the examples name (:data:`FILES`), one command after another in bash, variables
kept, the venv's ``smpp-engine`` and ``python`` first on the PATH (see
:mod:`.session` for services and ports). Every command must end with status 0
unless its plan says otherwise, and never with a traceback. Where a block
relies on something a reader has running (the simulator the ``send`` example
talks to), its plan starts it first, with a command shown elsewhere in the
documentation.

What the test changes, all in :class:`Plan`: ports (the documented 2775, 8775
and 8080 become the free ports the services got), ``smsc.example`` (the
simulator on loopback), and a line written as a pattern (``pause|resume|cancel``,
``...``) is run as the commands it stands for. A block that cannot run here is
in :data:`SKIPPED` with the reason. A block that is neither planned nor skipped
fails the test, as does a plan or a skip that names no block: nothing is left
out silently. Blocks in other languages are not shell and not run here (the
README's ``python`` blocks run in :mod:`.test_readme_python`, the scenario
README's ``toml`` in ``tests/simulator/test_scenario.py``); a block with no
language fails, since it could hide commands.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from .blocks import SHELL, Block, blocks_in
from .session import Finished, Service, Session, clean_environment

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = ("README.md", "config/README.md", "docs/simulator.md")
DOCS_KEY = "docs-example-key"

Results = dict[str, Finished]
Check = Callable[[Results, Block], None]


def _default_toml() -> str:
    return (ROOT / "config" / "default.toml").read_text("utf-8")


#: Files the examples name, written into each block's folder (beside a copy of config/).
FILES: dict[str, Callable[[], str]] = {
    # A settings file of the reader's own: the default with the SMSC account the
    # example's variable names (operator-a), bound to the built-in simulator.
    "my.toml": lambda: _default_toml().replace('name = "default"', 'name = "operator-a"'),
    "engine.toml": _default_toml,
    "debtors.csv": lambda: (
        "msisdn,name,amount,due\n"
        "+359888123456,Ivan Petrov,120.50,2026-12-20\n"
        "+359888123457,Maria Ivanova,80.00,2026-12-20\n"
    ),
    # 42 messages, so that `status 42` has its message.
    "batch.json": lambda: json.dumps(
        {
            "messages": [
                {"to": "+447700900123", "from": "ACME", "text": f"Message {n}"}
                for n in range(1, 43)
            ]
        }
    ),
}


@dataclass(frozen=True)
class Plan:
    """How one block runs here, beyond running its commands in order."""

    #: Commands run first: what a reader would have running already.
    before: tuple[str, ...] = ()
    #: Variables set for the block (a password the reader exports, a key's digest).
    env: dict[str, str] = field(default_factory=dict)
    #: Text replaced in the block's commands, documented -> here.
    substitutions: dict[str, str] = field(default_factory=dict)
    #: A line standing for other commands -> those commands.
    expand: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: Lines not run, with the reason.
    skip: dict[str, str] = field(default_factory=dict)
    #: Commands run in the background and awaited at the end (they end by themselves).
    background: frozenset[str] = frozenset()
    stdin: dict[str, str] = field(default_factory=dict)
    #: Exit statuses allowed other than 0, by command ("*": every command of the block).
    status: dict[str, tuple[int, ...]] = field(default_factory=dict)
    check: Check | None = None


SKIPPED: dict[str, str] = {
    "README.md: python3 -m venv .venv && .venv/bin/pip install -q -e '.[test]' && "
    ".venv/bin/smpp-engine demo": "a fresh machine's install, then the demo and the whole "
    "suite: this test runs inside that set-up (tests/test_cli_run.py runs the demo)",
}


def _json_values(text: str) -> list[object]:
    """The JSON documents printed one after another (curl adds no newline)."""
    decoder = json.JSONDecoder()
    values, index = [], 0
    text = text.strip()
    while index < len(text):
        value, index = decoder.raw_decode(text, index)
        values.append(value)
        while index < len(text) and text[index].isspace():
            index += 1
    return values


def _check_running(results: Results, block: Block) -> None:
    for command in ("smpp-engine run", "smpp-engine run --config my.toml"):
        lines = results[command].stdout.splitlines()
        assert json.loads(lines[0])["event"] == "running"
        assert json.loads(lines[-1]) == {"event": "stopped"}
    assert "my.toml: valid" in results["smpp-engine config check my.toml"].stdout


def _check_status(results: Results, block: Block) -> None:
    assert "Message 42" in results["smpp-engine status 42"].stdout
    assert results["smpp-engine status 42 --json"].json()["id"] == 42


def _check_http(results: Results, block: Block) -> None:
    (command,) = [c for c in results if c.startswith("curl")]
    accepted = results[command].json()
    assert isinstance(accepted["id"], int), accepted


def _check_pdu(results: Results, block: Block) -> None:
    (decode,) = [c for c in results if c.startswith("smpp-engine pdu decode")]
    decoded = results[decode].json()
    assert (decoded["command"], decoded["sequence_number"]) == ("submit_sm_resp", 7)
    assert decoded["message_id"] == "123"
    (encode,) = [c for c in results if c.startswith("smpp-engine pdu encode")]
    assert results[encode].stdout.strip() == "00000010000000150000000000000009"


def _check_sim(results: Results, block: Block) -> None:
    (command,) = results
    assert json.loads(results[command].stdout.splitlines()[0])["event"] == "listening"


def _check_send(results: Results, block: Block) -> None:
    (command,) = results
    result = results[command]
    report = json.loads(result.stdout.splitlines()[-1])
    assert report["submitted"] == 100
    # Every accepted submit's receipt, matched although its id is written otherwise.
    assert sum(report["receipts"].values()) == report["accepted"] > 0
    assert result.returncode == (0 if report["accepted"] == 100 else 1)


def _check_campaigns(results: Results, block: Block) -> None:
    # The watch ended by itself once the campaign was cancelled: both recipients settled.
    (watched,) = [c for c in results if c.endswith("--watch")]
    assert "2/2 settled" in results[watched].stdout
    groups = [c for c in results if c.startswith("smpp-engine campaign group list")]
    assert "tenants" in results[groups[0]].stdout


def _check_billing(results: Results, block: Block) -> None:
    # The comment lines under a command are what it prints.
    printed = [c for c in block.commands if c.comments]
    assert printed
    for command in printed:
        for line in command.comments:
            assert line in results[command.text].stdout, (command.text, line)


def _check_config(results: Results, block: Block) -> None:
    assert "engine.toml: valid" in results["smpp-engine config check engine.toml"].stdout
    assert "[http]" in results["smpp-engine config show engine.toml"].stdout
    assert "[http]" in results["smpp-engine config show"].stdout
    key = results["smpp-engine config add-key ops --config engine.toml"].stdout.strip()
    assert len(key) >= 32
    hashed = results["smpp-engine config hash-key --name ops"].stdout.strip()
    expected = hashlib.sha256(b"a-key-made-elsewhere").hexdigest()
    assert hashed == f'{{ name = "ops", sha256 = "{expected}" }}'


def _check_control_api(results: Results, block: Block) -> None:
    curls = [c for c in results if c.startswith("curl")]
    assert len(curls) == 10
    *json_commands, metrics = curls
    answers = {c: _json_values(results[c].stdout) for c in json_commands}
    for command, values in answers.items():
        assert len(values) == 1 and "error" not in values[0], (command, values)  # type: ignore[operator]
    assert answers[curls[0]][0]["scenario"] == "utility"  # type: ignore[index]
    assert answers[curls[1]][0]["count"] == 0  # type: ignore[index]
    assert answers[curls[3]][0]["rows"] > 0  # type: ignore[index]
    assert answers[curls[6]][0]["scenario"] == "flaky"  # type: ignore[index]
    assert answers[curls[7]][0]["fault"] == "stall"  # type: ignore[index]
    assert "smpp_simulator_scenario" in results[metrics].stdout


_TOMORROW = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT09:00:00+02:00")
_CREATE = (
    'smpp-engine campaign create december-debts --store $STORE --csv debtors.csv --template "Dear '
    '{name}, your debt is {amount} EUR, due {due}." --sender WATERCO --rate 100 --start '
    "2026-12-01T09:00:00+02:00 --time-zone Europe/Sofia"
)

PLANS: dict[str, Plan] = {
    "README.md: smpp-engine run": Plan(
        substitutions={"PASSWORD=...": "PASSWORD=sim-only"}, check=_check_running
    ),
    "README.md: smpp-engine status 42": Plan(
        # The gateway the reader ran, with 42 messages sent through its HTTP API.
        before=(
            "smpp-engine run &",
            f"curl -sf -H 'X-API-Key: {DOCS_KEY}' -H 'Content-Type: application/json' "
            "-d @batch.json http://127.0.0.1:8080/v1/messages/batch",
        ),
        env={
            "SMPP_ENGINE__HTTP__API_KEYS__DOCS__SHA256": hashlib.sha256(
                DOCS_KEY.encode()
            ).hexdigest()
        },
        skip={
            "smpp-engine bench --quick": "every benchmark for about a minute each; "
            "tests/test_cli_bench.py runs one (bench b1 --quick)"
        },
        check=_check_status,
    ),
    "README.md: KEY=$(smpp-engine config add-key ops --config my.toml)": Plan(check=_check_http),
    "README.md: smpp-engine pdu decode 0000001480000004000000000000000731323300": Plan(
        check=_check_pdu
    ),
    "README.md: smpp-engine sim --port 2775 --control-port 8775 --scenario "
    "config/scenarios/flaky.toml": Plan(check=_check_sim),
    "README.md: SMPP_ENGINE_PASSWORD=secret smpp-engine send --host 127.0.0.1 --port 2775 "
    "--system-id acme": Plan(
        # The flaky simulator of the block above, in the background.
        before=("smpp-engine sim --port 2775 --scenario config/scenarios/flaky.toml &",),
        status={"*": (0, 1)},
        check=_check_send,
    ),
    "config/README.md: smpp-engine config check engine.toml": Plan(
        stdin={"smpp-engine config hash-key --name ops": "a-key-made-elsewhere"},
        check=_check_config,
    ),
    "docs/simulator.md: export SMPP_SIM_CONTROL_TOKEN=$(python -c 'import secrets; "
    "print(secrets.token_urlsafe(32))')": Plan(check=_check_control_api),
}

#: Blocks that share a first line, told apart by their second command.
SHARED_FIRST_LINE: dict[str, dict[str, Plan]] = {
    "README.md: STORE=sqlite:///gateway.db": {
        "smpp-engine gateway": Plan(
            before=("smpp-engine sim --port 2775 &",),  # an SMSC for smsc.example
            env={"SMPP_ENGINE_PASSWORD": "secret"},
            # Tomorrow, so the campaign still waits when it is paused and cancelled.
            substitutions={"smsc.example": "127.0.0.1", "2026-12-01T09:00:00+02:00": _TOMORROW},
            expand={
                "smpp-engine campaign create december-debts ...": (_CREATE,),
                "smpp-engine campaign pause|resume|cancel december-debts --store $STORE": (
                    "smpp-engine campaign pause december-debts --store $STORE",
                    "smpp-engine campaign resume december-debts --store $STORE",
                    "smpp-engine campaign cancel december-debts --store $STORE",
                ),
                "smpp-engine campaign group create|add|remove|list ...": (
                    "smpp-engine campaign group create tenants --store $STORE --csv debtors.csv",
                    "smpp-engine campaign group add tenants --store $STORE --csv debtors.csv",
                    "smpp-engine campaign group remove tenants +359888123457 --store $STORE",
                    "smpp-engine campaign group list --store $STORE",
                ),
                "smpp-engine campaign optout add|remove +359888123456 --store $STORE": (
                    "smpp-engine campaign optout add +359888123456 --store $STORE",
                    "smpp-engine campaign optout remove +359888123456 --store $STORE",
                ),
            },
            # It follows the campaign until it ends: the cancel below ends it.
            background=frozenset(
                {"smpp-engine campaign status december-debts --store $STORE --watch"}
            ),
            check=_check_campaigns,
        ),
        "smpp-engine billing import": Plan(check=_check_billing),
    },
}


def _all_blocks() -> list[Block]:
    return [block for name in DOCUMENTS for block in blocks_in(ROOT / name, ROOT)]


def _shell_blocks() -> list[Block]:
    return [block for block in _all_blocks() if block.language in SHELL]


def _plan_of(block: Block) -> Plan | None:
    shared = SHARED_FIRST_LINE.get(block.key)
    if shared is not None:
        second = block.commands[1].text if len(block.commands) > 1 else ""
        found = [plan for start, plan in shared.items() if second.startswith(start)]
        return found[0] if found else None
    return PLANS.get(block.key)


def test_every_shell_block_is_run_or_skipped_with_a_reason() -> None:
    blocks = _shell_blocks()
    unplanned = [
        f"{b.key} (line {b.line})" for b in blocks if _plan_of(b) is None and b.key not in SKIPPED
    ]
    assert unplanned == [], "a new block: give it a plan or a reason to skip it"
    keys = {b.key for b in blocks}
    stale = sorted((set(PLANS) | set(SKIPPED) | set(SHARED_FIRST_LINE)) - keys)
    assert stale == [], "planned or skipped, but no such block any more"
    shared_plans = [plan for plans in SHARED_FIRST_LINE.values() for plan in plans.values()]
    assert all(any(_plan_of(b) is plan for b in blocks) for plan in shared_plans)


def test_every_block_says_its_language() -> None:
    unlabelled = [f"{b.file}:{b.line}" for b in _all_blocks() if not b.language]
    assert unlabelled == []


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    folder = tmp_path / "reader"
    shutil.copytree(ROOT / "config", folder / "config")
    for name, content in FILES.items():
        (folder / name).write_text(content(), encoding="utf-8")
    opened = Session(folder, clean_environment(Path(sys.executable).parent))
    try:
        yield opened
    finally:
        opened.close()


def _planned() -> list[tuple[Block, Plan]]:
    return [(b, plan) for b in _shell_blocks() if (plan := _plan_of(b)) is not None]


@pytest.mark.parametrize(
    ("block", "plan"), _planned(), ids=[f"{b.file}:{b.line}" for b, _ in _planned()]
)
def test_the_block_runs_as_shown(block: Block, plan: Plan, session: Session) -> None:
    session.env.update(plan.env)
    session.substitutions.update(plan.substitutions)
    for command in plan.before:
        ran = session.run(command)
        if isinstance(ran, Finished):
            assert ran.returncode == 0, (command, ran.stderr)
    results: Results = {}
    background: list[Service] = []
    for documented in block.commands:
        if documented.text in plan.skip:
            continue
        for command in plan.expand.get(documented.text, (documented.text,)):
            ran = session.run(
                command,
                plan.stdin.get(command),
                background=command in plan.background,
            )
            if isinstance(ran, Service):
                if command in plan.background:
                    background.append(ran)
                continue
            results[command] = ran
    for service in background:
        results[service.command] = session.wait(service)
    for service in session.services:  # what the block left running stops on Ctrl-C
        if service.command in [c.text for c in block.commands]:
            results[service.command] = session.stop(service)
    for command, result in results.items():
        allowed = (0, *plan.status.get(command, plan.status.get("*", ())))
        assert result.returncode in allowed, (command, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr, (command, result.stderr)
    if plan.check is not None:
        plan.check(results, block)
