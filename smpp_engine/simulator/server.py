"""The simulated SMSC: listener, connections, scenario timeline, MO injection, faults.

:class:`Simulator` is what tests drive in-process (start it on port 0 with
``await nursery.start(sim.run)``, then read ``sim.port``); :func:`run_simulator`
is the entry point of ``smpp-engine sim``.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
import trio
from pydantic import ValidationError

from ..protocol import CommandStatus
from ..protocol.failed_binds import FailedBinds
from ..redaction import remember
from .accounts import Accounts
from .behaviour import Behaviour
from .clock import SimClock
from .connection import Connection
from .control_api import MIN_TOKEN_LENGTH, serve_control_api
from .faults import FaultError, FaultKind, Malformed, malformed_pdu
from .message_ids import MessageIds
from .mo import MoBuilder, MoError, MoLog, MoLogEntry, MoResult
from .mo_csv import CsvMo, parse_mo_csv, read_mo_csv
from .receipts_scheduler import ReceiptPlanner
from .records import MessageRecord, MessageStore
from .routing import Outgoing, Router
from .scenario import (
    BindType,
    MoMessageSpec,
    MoScheduleEntry,
    Scenario,
    ScenarioError,
    find_scenario,
    load_scenario,
)
from .scenario_folder import ScenarioFolder
from .scheduler import Scheduler
from .telemetry import Telemetry

_log = structlog.get_logger("smpp_engine.simulator")

#: CSV rows sent in one go when their delays are 0, before yielding.
CSV_BATCH = 500
#: At most one log line a second about connections closed at the connection cap.
_REFUSED_LOG_INTERVAL = 1.0


@dataclass(slots=True)
class _CsvPlayback:
    rows: list[CsvMo]
    index: int
    due: float
    generation: int
    system_id: str | None


class Simulator:
    """An SMSC simulator: SMPP server, behaviour per scenario, records for QA.

    ``scenario`` is a :class:`Scenario`, a scenario file, or a scenario name
    searched in ``search`` and the default scenario directories; None runs
    ``healthy.toml`` from there, or when there is none the built-in defaults
    (open accounts, immediate ESME_ROK, immediate DELIVRD receipts) named healthy.
    ``port`` 0 picks a free port; ``control_port`` (0 too) serves the HTTP control
    API, None serves none.

    The control API opens only files inside ``scenario_dir`` (by default the folder
    of the scenario file started with; a :class:`Scenario` object brings none, and
    then no file is opened for a request). With ``control_token`` (at least
    ``MIN_TOKEN_LENGTH`` characters) every control request needs
    ``Authorization: Bearer TOKEN``. Raises :class:`ScenarioError`, or ValueError
    for a short token (without quoting it).
    """

    def __init__(
        self,
        scenario: Scenario | Path | str | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        control_host: str = "127.0.0.1",
        control_port: int | None = None,
        search: Sequence[Path] = (),
        scenario_dir: Path | None = None,
        control_token: str | None = None,
    ) -> None:
        if control_token is not None and len(control_token) < MIN_TOKEN_LENGTH:
            raise ValueError(f"the control token needs at least {MIN_TOKEN_LENGTH} characters")
        self.search = list(search)
        source = scenario if scenario is not None else _healthy(self.search)
        self.timeline = self.load(source)
        first = self.timeline.phases[0].scenario if self.timeline.phases else self.timeline
        assert first is not None
        if scenario_dir is None and not isinstance(source, Scenario):
            scenario_dir = self._path(source).parent
        #: The only folder a control request may name files in.
        self.folder = ScenarioFolder(scenario_dir)
        self.host = host
        self.port = port
        self.control_host = control_host
        self.control_port = control_port
        #: Kept out of repr and /stats, and masked in logs should it ever reach one.
        self._control_token = control_token
        remember(control_token)
        self.rng = random.Random(first.seed)
        self.clock = SimClock()
        self.scheduler = Scheduler()
        self.telemetry = Telemetry()
        self.router = Router(self.scheduler)
        self.receipts = ReceiptPlanner(self.router, self.scheduler, self.clock, self.telemetry)
        self.records = MessageStore(first.records.cap)
        self.ids = MessageIds(first.smsc.message_ids, self.rng, self.records)
        self.mo_builder = MoBuilder(seed=first.seed)
        self.mo_log = MoLog()
        self.connections: dict[int, Connection] = {}
        #: Counters for /stats (the hot path counts accepted messages in the records).
        self.rejected = 0
        self.throttled = 0
        #: Connections closed at accept (over smsc.max_connections), and closed for
        #: not binding within smsc.bind_timeout.
        self.refused_connections = 0
        self.bind_timeouts = 0
        self.failed_binds = FailedBinds()
        self._refused_logged_at = -math.inf
        self.phase_index: int | None = None
        self.started_at = 0.0
        self._bound: dict[str, int] = {}
        self._bound_connections: set[int] = set()
        self._refuse_until = 0.0
        self._generation = 0
        self._leaf_generation = 0
        self._connection_counter = 0
        self._configure(first)

    # --- scenarios -----------------------------------------------------------------

    def load(self, scenario: Scenario | Path | str) -> Scenario:
        """A scenario object, file or name as a validated :class:`Scenario`."""
        if isinstance(scenario, Scenario):
            return scenario
        return load_scenario(self._path(scenario), search=self.search)

    def _path(self, scenario: Path | str) -> Path:
        path = Path(scenario)
        if path.suffix == ".toml" or path.is_file():
            return path
        return find_scenario(str(scenario), self.search)

    @property
    def control_token(self) -> str | None:
        """The bearer token the control API asks for (None: none)."""
        return self._control_token

    def set_scenario(self, scenario: Scenario | Path | str) -> Scenario:
        """Switch to ``scenario`` now (a timeline starts at its first phase)."""
        loaded = self.load(scenario)
        self._generation += 1
        self.timeline = loaded
        now = trio.current_time()
        if loaded.phases:
            self._phase_due((self._generation, 0), now)
        else:
            self.phase_index = None
            self._apply(loaded, now)
        _log.info("scenario", name=loaded.name, phases=len(loaded.phases))
        return loaded

    def _phase_due(self, when: tuple[int, int], now: float) -> None:
        generation, index = when
        timeline = self.timeline
        if generation != self._generation:
            return
        if index >= len(timeline.phases):
            if not timeline.loop:
                return
            index = 0
        phase = timeline.phases[index]
        assert phase.scenario is not None
        self.phase_index = index
        self._apply(phase.scenario, now)
        _log.info("phase", timeline=timeline.name, phase=index, scenario=phase.scenario.name)
        if phase.duration is not None:
            self.scheduler.call_at(now + phase.duration, self._phase_due, (generation, index + 1))

    def _configure(self, scenario: Scenario) -> None:
        """Everything of a scenario that does not involve time or connections."""
        self.scenario = scenario
        self.rng.seed(scenario.seed)
        self.behaviour = Behaviour(scenario, self.rng)
        self.accounts = Accounts(scenario.accounts)
        self.accounts_configured = not self.accounts.open
        self.ids.configure(scenario.smsc.message_ids, self.rng)
        self.receipts.configure(scenario.receipts, self.rng)
        self.router.max_pending["mo"] = scenario.mo.max_pending
        self.mo_log.resize(scenario.mo.log_cap)
        self.records.set_cap(scenario.records.cap)

    def _apply(self, scenario: Scenario, now: float) -> None:
        self._configure(scenario)
        self._leaf_generation += 1
        generation = self._leaf_generation
        self.telemetry.scenario(scenario.name)
        for connection in list(self.connections.values()):
            if connection.bind_type is not None:
                connection.configure_throttle(now)
            connection.refresh()
        for entry in scenario.mo.messages:
            self.scheduler.call_at(now + entry.at, self._mo_due, (generation, entry, entry.count))
        mo = scenario.mo
        if mo.csv is not None:
            rows = read_mo_csv(mo.csv)
            if rows:
                playback = _CsvPlayback(
                    rows, 0, now + mo.csv_start + rows[0].delay, generation, mo.csv_system_id
                )
                self.scheduler.call_at(playback.due, self._csv_due, playback)

    # --- binds ---------------------------------------------------------------------

    def check_bind(self, system_id: str, password: str, bind_type: BindType) -> int:
        """The bind_resp status for a bind request now."""
        behaviour = self.behaviour
        if behaviour.refuse_binds:
            return behaviour.refuse_status
        if self._refuse_until > trio.current_time():
            return CommandStatus.ESME_RBINDFAIL
        return self.accounts.check_bind(
            system_id,
            password,
            bind_type,
            self._bound.get(system_id, 0),
            self.scenario.smsc.max_account_binds,
        )

    def connection_bound(self, connection: Connection, now: float) -> None:
        self._bound_connections.add(connection.number)
        self._bound[connection.system_id] = self._bound.get(connection.system_id, 0) + 1
        self.telemetry.binds(1)
        if connection.bind_type is not None and connection.bind_type.receives:
            self.router.add_receiver(connection, now)

    def connection_unbound(self, connection: Connection) -> None:
        if connection.number not in self._bound_connections:
            return
        self._bound_connections.discard(connection.number)
        count = self._bound.get(connection.system_id, 0) - 1
        if count > 0:
            self._bound[connection.system_id] = count
        else:
            self._bound.pop(connection.system_id, None)
        self.telemetry.binds(-1)
        self.router.remove_receiver(connection)

    def connection_closed(self, connection: Connection) -> None:
        self.connection_unbound(connection)
        self.connections.pop(connection.number, None)
        _log.info("closed", connection=connection.number, system_id=connection.system_id)

    # --- running -------------------------------------------------------------------

    async def run(
        self, *, task_status: trio.TaskStatus[Simulator] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Serve until cancelled; ``task_status.started`` gets this simulator once
        ``port`` (and ``control_port``) are bound."""
        self.clock.start()
        self.started_at = trio.current_time()
        try:
            async with trio.open_nursery() as nursery:
                listeners = await trio.open_tcp_listeners(self.port, host=self.host)
                self.port = listeners[0].socket.getsockname()[1]
                nursery.start_soon(self.scheduler.run)
                if self.control_port is not None:
                    self.control_port = await nursery.start(
                        serve_control_api, self, self.control_host, self.control_port
                    )
                self.set_scenario(self.timeline)
                await nursery.start(trio.serve_listeners, self._serve_connection, listeners)
                _log.info(
                    "simulator listening",
                    host=self.host,
                    port=self.port,
                    control_port=self.control_port,
                    scenario=self.timeline.name,
                )
                task_status.started(self)
        finally:
            self.telemetry.close()

    async def _serve_connection(self, stream: trio.SocketStream) -> None:
        cap = self.scenario.smsc.max_connections
        if len(self.connections) >= cap:
            self.refused_connections += 1
            now = trio.current_time()
            if now - self._refused_logged_at >= _REFUSED_LOG_INTERVAL:
                self._refused_logged_at = now
                _log.warning(
                    "connections refused at the cap",
                    max_connections=cap,
                    refused=self.refused_connections,
                )
            await trio.aclose_forcefully(stream)
            return
        self._connection_counter += 1
        connection = Connection(self, stream, self._connection_counter)
        self.connections[connection.number] = connection
        _log.info("connected", connection=connection.number, peer=connection.peer)
        await connection.run()

    # --- MO ------------------------------------------------------------------------

    def inject_mo(
        self, spec: MoMessageSpec | Mapping[str, Any] | None = None, **fields: Any
    ) -> MoResult:
        """Send one MO now (split in parts when long), or hold it until a receiver binds.

        Give a :class:`MoMessageSpec`, a mapping, or its fields as keywords
        (``source``, ``destination``, ``text``, ``system_id``...). Raises
        :class:`MoError` naming the field at fault.
        """
        if spec is None or isinstance(spec, Mapping):
            data = {**(spec or {}), **fields}
            try:
                spec = MoMessageSpec.model_validate(data)
            except ValidationError as exc:
                error = exc.errors(include_url=False)[0]
                field = ".".join(str(part) for part in error["loc"]) or "body"
                raise MoError(field, error.get("input"), error["msg"]) from None
        now = trio.current_time()
        target = self._mo_target(spec)
        pdus = self.mo_builder.build(spec)
        entry = MoLogEntry(spec.source, spec.destination, spec.text, target, len(pdus), now)
        self.mo_log.add(entry)

        def sent(item: Outgoing) -> None:
            self.telemetry.mo(1)
            entry.parts_sent += 1
            if entry.parts_sent >= entry.parts and entry.sent_at is None:
                entry.sent_at = trio.current_time()

        items = [Outgoing(pdu, "mo", target, on_sent=sent) for pdu in pdus]
        handed = self.router.route(items, now)
        return MoResult(len(pdus), target, handed)

    def _mo_target(self, spec: MoMessageSpec) -> str | None:
        accounts = self.accounts
        if spec.system_id is not None:
            if not accounts.open and accounts.get(spec.system_id) is None:
                raise MoError("system_id", spec.system_id, "no such account")
            return spec.system_id
        if accounts.open:
            return None
        target = accounts.mo_account(spec.destination)
        if target is None:
            raise MoError(
                "destination",
                spec.destination,
                "no account takes MO for this destination: give system_id, or list a "
                "prefix of it in an account's mo_destinations",
            )
        return target

    def _mo_due(self, when: tuple[int, MoScheduleEntry, int], now: float) -> None:
        generation, entry, remaining = when
        if generation != self._leaf_generation:
            return
        try:
            self.inject_mo(entry.model_dump(exclude={"at", "every", "count"}))
        except MoError as exc:
            _log.warning("scheduled MO not sent", error=str(exc))
        if entry.every is not None and (entry.count == 0 or remaining > 1):
            self.scheduler.call_at(
                now + entry.every, self._mo_due, (generation, entry, remaining - 1)
            )

    def play_csv(
        self, path: Path | str, *, system_id: str | None = None, delay: float = 0.0
    ) -> int:
        """Play an MO CSV file from now on (after ``delay`` seconds); returns its row count.
        Raises :class:`~.mo_csv.MoCsvError` or OSError."""
        return self.play_mo_rows(read_mo_csv(Path(path)), system_id=system_id, delay=delay)

    def play_csv_text(self, text: str, *, system_id: str | None = None, delay: float = 0.0) -> int:
        """Like :meth:`play_csv`, the rows given as CSV text. Raises MoCsvError."""
        return self.play_mo_rows(parse_mo_csv(text), system_id=system_id, delay=delay)

    def play_mo_rows(
        self, rows: list[CsvMo], *, system_id: str | None = None, delay: float = 0.0
    ) -> int:
        """Play parsed MO CSV rows from now on (after ``delay`` seconds); returns their count."""
        if not math.isfinite(delay) or delay < 0:
            raise ValueError("delay must be a finite number of seconds >= 0")
        if rows:
            now = trio.current_time()
            playback = _CsvPlayback(rows, 0, now + delay + rows[0].delay, -1, system_id)
            self.scheduler.call_at(playback.due, self._csv_due, playback)
        return len(rows)

    def _csv_due(self, playback: _CsvPlayback, now: float) -> None:
        if playback.generation not in (-1, self._leaf_generation):
            return
        rows = playback.rows
        sent = 0
        while playback.index < len(rows) and playback.due <= now and sent < CSV_BATCH:
            row = rows[playback.index]
            try:
                self.inject_mo(
                    source=row.source,
                    destination=row.destination,
                    text=row.text,
                    system_id=playback.system_id,
                )
            except MoError as exc:
                _log.warning("CSV MO not sent", line=row.line, error=str(exc))
            sent += 1
            playback.index += 1
            if playback.index < len(rows):
                playback.due += rows[playback.index].delay
        if playback.index < len(rows):
            self.scheduler.call_at(max(playback.due, now), self._csv_due, playback)

    # --- faults --------------------------------------------------------------------

    def fault(
        self,
        kind: FaultKind | str,
        *,
        duration: float | None = None,
        system_id: str | None = None,
        variant: str | None = None,
    ) -> dict[str, Any]:
        """Trigger a fault now on every connection (of ``system_id`` when given).

        Raises :class:`FaultError` naming the bad argument.
        """
        try:
            kind = FaultKind(kind)
        except ValueError:
            raise FaultError(
                "kind", kind, f"unknown fault; one of {', '.join(k.value for k in FaultKind)}"
            ) from None
        if duration is not None and not (duration > 0 and math.isfinite(duration)):
            raise FaultError("duration", duration, "must be a positive number of seconds")
        now = trio.current_time()
        targets = [
            connection
            for connection in self.connections.values()
            if system_id is None or connection.system_id == system_id
        ]
        until = now + duration if duration is not None else math.inf
        affected = len(targets)
        if kind is FaultKind.DROP:
            if variant not in (None, "close", "reset"):
                raise FaultError("variant", variant, "drop takes 'close' or 'reset'")
            for connection in targets:
                connection.drop(reset=variant == "reset")
        elif kind is FaultKind.STALL:
            for connection in targets:
                connection.stall(until)
            if duration is not None:
                self.scheduler.call_at(until, self._refresh_connections, None)
        elif kind is FaultKind.UNBIND:
            affected = sum(connection.unbind(now) for connection in targets)
        elif kind is FaultKind.REFUSE_BINDS:
            self._refuse_until = until
        elif kind is FaultKind.MALFORMED:
            try:
                malformed = Malformed(variant or Malformed.TRUNCATED)
            except ValueError:
                raise FaultError(
                    "variant", variant, f"one of {', '.join(m.value for m in Malformed)}"
                ) from None
            octets = malformed_pdu(malformed)
            for connection in targets:
                connection.send_raw(octets)
        else:
            self._refuse_until = 0.0
            for connection in targets:
                connection.stall(0.0)
        _log.info(
            "fault",
            kind=kind.value,
            connections=affected,
            duration=duration,
            system_id=system_id,
            variant=variant,
        )
        return {"fault": kind.value, "connections": affected, "duration": duration}

    def _refresh_connections(self, _: object, now: float) -> None:
        for connection in list(self.connections.values()):
            connection.refresh()

    # --- QA ------------------------------------------------------------------------

    def messages(
        self,
        *,
        destination: str | None = None,
        source: str | None = None,
        system_id: str | None = None,
        message_id: str | None = None,
        limit: int | None = None,
    ) -> list[MessageRecord]:
        """Accepted messages matching every filter given, oldest first."""
        if message_id is not None:
            number = self.ids.parse(message_id)
            record = self.records.get(number) if number is not None else None
            if record is not None and record.message_id.lower() == message_id.strip().lower():
                found = [record]
                return [
                    r
                    for r in found
                    if (destination is None or destination in r.all_destinations())
                    and (source is None or r.source == source)
                    and (system_id is None or r.system_id == system_id)
                ]
        return self.records.query(
            destination=destination,
            source=source,
            system_id=system_id,
            message_id=message_id,
            limit=limit,
        )

    def stats(self) -> dict[str, Any]:
        now = trio.current_time()
        records = self.records
        return {
            "scenario": self.scenario.name,
            "timeline": self.timeline.name,
            "phase": self.phase_index,
            "uptime": round(now - self.started_at, 3),
            "port": self.port,
            "control_port": self.control_port,
            "connections": [c.describe() for c in self.connections.values()],
            "binds": sum(self._bound.values()),
            "messages": {
                "accepted": records.accepted,
                "rejected": self.rejected,
                "throttled": self.throttled,
                "held": len(records),
                "dropped": records.dropped,
                "cap": records.cap,
            },
            "deliveries": {
                "pending": self.router.pending(),
                "dropped": dict(self.router.dropped),
                "failed": dict(self.router.failed),
            },
            "mo": {"injected": self.mo_log.injected},
            "scheduled": len(self.scheduler),
            "refusing_binds": self.behaviour.refuse_binds or self._refuse_until > now,
            "listener": {
                "refused_connections": self.refused_connections,
                "bind_timeouts": self.bind_timeouts,
                "refused_credentials": self.failed_binds.refused,
            },
        }


def _healthy(search: Sequence[Path]) -> Scenario | Path:
    try:
        return find_scenario("healthy", search)
    except ScenarioError:
        return Scenario(name="healthy")


async def run_simulator(
    host: str,
    port: int,
    scenario: Path | None,
    control_port: int | None,
    *,
    scenario_dir: Path | None = None,
    control_token: str | None = None,
    task_status: trio.TaskStatus[Simulator] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run the simulator until cancelled.

    ``scenario`` None runs ``healthy.toml`` (see :class:`Simulator`). Raises
    :class:`ScenarioError` before listening when the scenario is invalid.
    """
    simulator = Simulator(
        scenario,
        host=host,
        port=port,
        control_port=control_port,
        scenario_dir=scenario_dir,
        control_token=control_token,
    )
    await simulator.run(task_status=task_status)


__all__ = ["ScenarioError", "Simulator", "run_simulator"]
