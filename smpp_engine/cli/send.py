"""``smpp-engine send``: bind to an SMSC, send a text, wait for its receipts, unbind."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import trio
import typer

from .. import logs
from ..esme import BindType, ConfigError, EsmeConfig, EsmeError, SendReport, TlsConfig, send_texts
from ..esme.sender import DEFAULT_THROTTLE_RETRIES
from ..protocol import MessageIdPolicy, PduError
from ..settings.defaults import field_default
from .errors import EXIT_FAILED, fail
from .gateway import PASSWORD_VARIABLE, password_or_prompt

__all__ = ["send"]

Opt = typer.Option
_ID_POLICIES = tuple(policy.value for policy in MessageIdPolicy)


def send(  # noqa: PLR0917 - one parameter per command-line option
    host: Annotated[str, Opt(help="SMSC address.")],
    port: Annotated[int, Opt(help="SMSC port.")],
    system_id: Annotated[str, Opt(help="SMPP system_id of the account.")],
    source: Annotated[str, Opt(help="Sender: alphanumeric (max 11) or a number.")],
    dest: Annotated[str, Opt(help="Destination number (+ or 00 for international).")],
    text: Annotated[str, Opt(help="The text; long texts are split automatically.")],
    count: Annotated[int, Opt(min=0, help="How many times to send it.")] = 1,
    window: Annotated[int, Opt(min=1, help="Requests in flight at once.")] = field_default(
        EsmeConfig, "window_size"
    ),
    bind: Annotated[str, Opt(help="transceiver or transmitter.")] = "transceiver",
    wait_receipts: Annotated[
        float | None, Opt(help="Ask for receipts and wait up to this many seconds for them.")
    ] = None,
    msg_id_type: Annotated[
        str,
        Opt(
            help="How the SMSC's receipt ids relate to its submit_sm_resp ids, as the "
            f"[[smsc]] msg_id_type setting: {', '.join(_ID_POLICIES)} (hex_to_dec: hex in "
            "the response, decimal in receipts)."
        ),
    ] = MessageIdPolicy.AS_IS.value,
    throttle_retries: Annotated[
        int,
        Opt(
            min=0,
            help="Send a submit answered throttled or queue-full again, after the bind's "
            "pause, up to this many times; then it counts as rejected.",
        ),
    ] = DEFAULT_THROTTLE_RETRIES,
    system_type: Annotated[str, Opt(help="SMPP system_type.")] = "",
    tls: Annotated[bool, Opt("--tls", help="Connect over TLS.")] = False,
    ca_file: Annotated[Path | None, Opt(help="CA certificates (PEM) for --tls.")] = None,
    insecure: Annotated[
        bool, Opt("--insecure", help="With --tls: do not verify the certificate (test SMSCs only).")
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
    if msg_id_type not in _ID_POLICIES:
        raise fail(f"--msg-id-type must be one of {', '.join(_ID_POLICIES)}, not {msg_id_type!r}")
    password = password_or_prompt(password)
    logs.configure()
    if bind not in ("transceiver", "transmitter"):
        raise fail(f"--bind must be transceiver or transmitter, not {bind!r}")
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
        raise fail(str(exc)) from None

    async def run() -> SendReport:
        return await send_texts(
            config,
            source,
            dest,
            text,
            count,
            wait_receipts=wait_receipts,
            id_policy=MessageIdPolicy(msg_id_type),
            throttle_retries=throttle_retries,
        )

    try:
        report = trio.run(run)
    except (PduError, ValueError) as exc:
        raise fail(str(exc)) from None
    except EsmeError as exc:
        raise fail(str(exc), EXIT_FAILED) from None
    typer.echo(json.dumps(report.to_dict()))
    if count and not (report.submitted and report.accepted == report.submitted):
        raise typer.Exit(1)
