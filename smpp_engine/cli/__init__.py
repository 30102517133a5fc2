"""The ``smpp-engine`` command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import trio
import typer

from .. import logs
from ..esme import BindType, ConfigError, EsmeConfig, EsmeError, SendReport, TlsConfig, send_texts
from ..interrupts import run_until_interrupted
from ..protocol import PduError, decode_pdu, encode_pdu
from ..protocol.pdu_json import pdu_from_dict, pdu_to_dict
from . import bench, billing, campaign, config, demo, gateway, run
from .errors import EXIT_BAD_INPUT, ReportingGroup, say_error
from .gateway import PASSWORD_VARIABLE, password_or_prompt
from .ports import Listener, ensure_free

app = typer.Typer(
    help="SMPP gateway engine: send, receive and track SMS over SMPP.",
    no_args_is_help=True,
    add_completion=False,
    # Every failure is reported by the group: one line, secrets masked.
    cls=ReportingGroup,
    pretty_exceptions_show_locals=False,
)
pdu_app = typer.Typer(
    help="Decode and encode single PDUs (for operators and QA).", no_args_is_help=True
)
app.add_typer(pdu_app, name="pdu")


def _read_argument(value: str) -> str:
    return sys.stdin.read() if value == "-" else value


def _fail(message: str) -> typer.Exit:
    """Say ``message`` (it starts with ``error: ``) on stderr, masked; the exit to raise."""
    say_error(message.removeprefix("error: "))
    return typer.Exit(EXIT_BAD_INPUT)


@pdu_app.command("decode")
def pdu_decode(
    hex_pdu: str = typer.Argument(
        ..., metavar="HEX", help="The whole PDU in hex (spaces and colons allowed; - reads stdin)."
    ),
) -> None:
    """Print one PDU as JSON: command, status, sequence, every field and TLV by its spec name."""
    text = _read_argument(hex_pdu)
    cleaned = "".join(text.split()).replace(":", "")
    if cleaned.lower().startswith("0x"):
        cleaned = cleaned[2:]
    try:
        data = bytes.fromhex(cleaned)
    except ValueError:
        raise _fail(f"error: input is not hexadecimal: {text.strip()[:80]!r}") from None
    try:
        pdu = decode_pdu(data)
    except PduError as exc:
        raise _fail(f"error: {exc}") from None
    typer.echo(json.dumps(pdu_to_dict(pdu), indent=2))


@pdu_app.command("encode")
def pdu_encode(
    json_pdu: str = typer.Argument(
        ..., metavar="JSON", help="The PDU as JSON, as 'pdu decode' prints it (- reads stdin)."
    ),
) -> None:
    """Print the hex bytes of a PDU given as JSON."""
    text = _read_argument(json_pdu)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _fail(
            f"error: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    try:
        typer.echo(encode_pdu(pdu_from_dict(data)).hex())
    except PduError as exc:
        raise _fail(f"error: {exc}") from None


Opt = typer.Option


@app.command("sim")
def sim(  # noqa: PLR0917 - one parameter per command-line option
    host: Annotated[str, Opt(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, Opt(help="SMPP port (0 picks a free one).")] = 2775,
    scenario: Annotated[
        Path | None, Opt(help="Scenario TOML file (see config/scenarios/); default: healthy.")
    ] = None,
    control_port: Annotated[
        int | None,
        Opt(help="HTTP control API port on 127.0.0.1 (0 picks a free one); none if omitted."),
    ] = None,
    scenario_dir: Annotated[
        Path | None,
        Opt(
            help="The only folder whose files control requests may name (scenarios, MO CSV); "
            "default: the folder of the scenario."
        ),
    ] = None,
    control_token: Annotated[
        str | None,
        Opt(
            envvar="SMPP_SIM_CONTROL_TOKEN",
            show_default=False,
            help="Bearer token every control request must carry (at least 16 characters); "
            "prefer the environment variable to the option, which others can see in ps.",
        ),
    ] = None,
) -> None:
    """Run the SMSC simulator until interrupted.

    The first line on stdout is JSON: {"event": "listening", "host", "port",
    "control_port"}; logs go to stderr.
    """
    # Imported here: the control API's web stack costs 0.4 s, which `pdu` should not pay.
    from ..simulator import ScenarioError, Simulator  # noqa: PLC0415

    logs.configure()
    listeners = [Listener("the SMPP port", "--port", host, port, http=False)]
    if control_port is not None:
        listeners.append(
            Listener("the control API", "--control-port", "127.0.0.1", control_port, http=True)
        )
    ensure_free(listeners)
    if scenario_dir is not None and not scenario_dir.is_dir():
        raise _fail(f"error: --scenario-dir {scenario_dir}: not a folder")
    try:  # a broken scenario is refused before anything listens
        simulator = Simulator(
            scenario,
            host=host,
            port=port,
            control_port=control_port,
            scenario_dir=scenario_dir,
            control_token=control_token,
        )
    except ScenarioError as exc:
        raise _fail(f"error: {exc}") from None
    except ValueError as exc:  # the token's length; the message does not quote it
        raise _fail(f"error: {exc}") from None

    async def serve() -> None:
        async with trio.open_nursery() as nursery:
            await nursery.start(simulator.run)
            ready = {
                "event": "listening",
                "host": host,
                "port": simulator.port,
                "control_port": simulator.control_port,
            }
            print(json.dumps(ready), flush=True)

    run_until_interrupted(serve)


@app.command("send")
def send(  # noqa: PLR0917 - one parameter per command-line option
    host: Annotated[str, Opt(help="SMSC address.")],
    port: Annotated[int, Opt(help="SMSC port.")],
    system_id: Annotated[str, Opt(help="SMPP system_id of the account.")],
    source: Annotated[str, Opt(help="Sender: alphanumeric (max 11) or a number.")],
    dest: Annotated[str, Opt(help="Destination number (+ or 00 for international).")],
    text: Annotated[str, Opt(help="The text; long texts are split automatically.")],
    count: Annotated[int, Opt(min=0, help="How many times to send it.")] = 1,
    window: Annotated[int, Opt(min=1, help="Requests in flight at once.")] = 10,
    bind: Annotated[str, Opt(help="transceiver or transmitter.")] = "transceiver",
    wait_receipts: Annotated[
        float | None, Opt(help="Ask for receipts and wait up to this many seconds for them.")
    ] = None,
    system_type: Annotated[str, Opt(help="SMPP system_type.")] = "",
    tls: Annotated[bool, Opt(help="Connect over TLS.")] = False,
    ca_file: Annotated[Path | None, Opt(help="CA certificates (PEM) for --tls.")] = None,
    insecure: Annotated[
        bool, Opt(help="With --tls: do not verify the certificate (test SMSCs only).")
    ] = False,
    password: Annotated[
        str | None,
        Opt(
            envvar=PASSWORD_VARIABLE,
            show_envvar=False,
            help=f"SMPP password of the account; default ${PASSWORD_VARIABLE}, else asked for "
            "(hidden). On the command line it is visible to other users of the machine.",
        ),
    ] = None,
) -> None:
    """Bind, send, optionally wait for receipts, unbind; end with one JSON line.

    The JSON counts SMPP submits (one per part of a long text). Exit status 0 only
    when every one was accepted.
    """
    password = password_or_prompt(password)
    logs.configure()
    if bind not in ("transceiver", "transmitter"):
        raise _fail(f"error: --bind must be transceiver or transmitter, not {bind!r}")
    try:
        config = EsmeConfig(
            host=host,
            port=port,
            system_id=system_id,
            password=password,
            system_type=system_type,
            bind_type=BindType(bind),
            window_size=window,
            tls=TlsConfig(ca_file=str(ca_file) if ca_file else None, verify=not insecure)
            if tls
            else None,
        )
    except ConfigError as exc:
        raise _fail(f"error: {exc}") from None

    async def run() -> SendReport:
        return await send_texts(config, source, dest, text, count, wait_receipts=wait_receipts)

    try:
        report = trio.run(run)
    except (PduError, ValueError) as exc:
        raise _fail(f"error: {exc}") from None
    except EsmeError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(json.dumps(report.to_dict()))
    if count and not (report.submitted and report.accepted == report.submitted):
        raise typer.Exit(1)


app.command("run")(run.run)
app.command("demo")(demo.demo)
app.command("status")(run.status)
app.command("bench")(bench.bench)
app.command("gateway")(gateway.gateway)
app.add_typer(campaign.campaign_app, name="campaign")
app.add_typer(billing.billing_app, name="billing")
app.add_typer(config.config_app, name="config")


def main() -> None:
    app()
