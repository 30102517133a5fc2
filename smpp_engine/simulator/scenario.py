"""Scenarios: what the simulated SMSC does, as TOML validated by pydantic.

A scenario file describes one behaviour (accounts, answers, throttling, receipts,
MO traffic, standing faults), or a timeline of ``[[phases]]`` that each use
another scenario for a while. :func:`load_scenario` reads a file and raises
:class:`ScenarioError` naming every offending key and value, never a traceback.
See ``config/scenarios/README.md`` for the keys.
"""

from __future__ import annotations

import enum
import os
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from ..protocol import CommandStatus, MessageState, ReceiptError
from .mo_csv import MoCsvError, read_mo_csv
from .randomness import ZERO, Distribution, Fixed
from .scenario_folder import FolderError, ScenarioFolder

#: Environment variable: extra directories (os.pathsep-separated) searched for
#: scenarios given by name.
SCENARIO_PATH_ENV = "SMPP_SIM_SCENARIOS"

_REPO_SCENARIOS = Path(__file__).resolve().parents[2] / "config" / "scenarios"


# --- value types ---------------------------------------------------------------------


def _parse_status(value: Any) -> Any:
    """A command_status given as ``ESME_RTHROTTLED``, ``RTHROTTLED``, ``0x58`` or 88."""
    if isinstance(value, bool):
        raise ValueError("expected a command_status name or number")
    if isinstance(value, int):
        if not 0 <= value <= 0xFFFFFFFF:
            raise ValueError("command_status must fit 32 bits")
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.lower().startswith("0x"):
            try:
                return _parse_status(int(text, 16))
            except ValueError:
                pass
        elif text.isdigit():
            return _parse_status(int(text))
        name = text.upper()
        for candidate in (name, f"ESME_{name}"):
            if candidate in CommandStatus.__members__:
                return int(CommandStatus[candidate])
        raise ValueError(
            f"unknown command_status {value!r}: use a name such as ESME_RTHROTTLED "
            "or a number such as 0x58"
        )
    raise ValueError("expected a command_status name or number")


def _parse_final_state(value: Any) -> Any:
    """A final receipt state given as ``DELIVRD``, ``UNDELIVERABLE``, or message_state 2."""
    if isinstance(value, MessageState):
        state = value
    elif isinstance(value, int) and not isinstance(value, bool):
        try:
            state = MessageState(value)
        except ValueError:
            raise ValueError(f"unknown message_state {value}") from None
    elif isinstance(value, str) and value.strip().isdigit():
        return _parse_final_state(int(value))
    elif isinstance(value, str):
        try:
            state = MessageState.from_stat_word(value.strip())
        except ReceiptError:
            raise ValueError(
                f"unknown receipt state {value!r}: use DELIVRD, UNDELIV, EXPIRED, "
                "REJECTD, DELETED, UNKNOWN or ACCEPTD"
            ) from None
    else:
        raise ValueError("expected a receipt state such as DELIVRD")
    if not state.final:
        raise ValueError(f"{state.stat_word} is not a final state")
    return state


StatusCode = Annotated[int, BeforeValidator(_parse_status)]
FinalState = Annotated[MessageState, BeforeValidator(_parse_final_state)]
Weight = Annotated[float, Field(ge=0)]
Probability = Annotated[float, Field(ge=0, le=1)]
Prefix = Annotated[str, Field(min_length=1, max_length=20)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BindType(enum.StrEnum):
    TRANSMITTER = "transmitter"
    RECEIVER = "receiver"
    TRANSCEIVER = "transceiver"

    @property
    def receives(self) -> bool:
        """Whether deliver_sm (receipts, MO) may be sent on such a bind."""
        return self is not BindType.TRANSMITTER

    @property
    def short(self) -> str:
        return {"transmitter": "TX", "receiver": "RX", "transceiver": "TRX"}[self.value]


# --- sections ------------------------------------------------------------------------


class MessageIdSettings(_Model):
    """How message ids look: ``hex`` or ``decimal``, ``monotonic`` from ``start``
    or ``random`` (from the seeded RNG), zero-padded to ``width``."""

    format: Literal["hex", "decimal"] = "hex"
    mode: Literal["monotonic", "random"] = "monotonic"
    start: int = Field(default=1, ge=0, le=2**63)
    width: int = Field(default=0, ge=0, le=64)
    uppercase: bool = False


class SmscSettings(_Model):
    #: The system_id in bind responses.
    system_id: str = Field(default="SMPPSIM", min_length=1, max_length=15)
    message_ids: MessageIdSettings = MessageIdSettings()
    #: deliver_sm (receipts, MO) outstanding per bind before waiting for responses.
    deliver_window: int = Field(default=64, ge=1, le=100_000)
    #: Seconds to wait for a deliver_sm_resp before redelivering.
    deliver_timeout: float = Field(default=30.0, gt=0)
    #: Send enquire_link after this many idle seconds; unset: never.
    enquire_link_interval: float | None = Field(default=None, gt=0)
    max_command_length: int = Field(default=65536, ge=64, le=16 * 1024 * 1024)
    #: Close a connection that has not bound after this many seconds (not while stalled).
    bind_timeout: float = Field(default=10.0, gt=0, allow_inf_nan=False)
    #: Connections at once; one more is closed as soon as it is accepted.
    max_connections: int = Field(default=1000, ge=1)
    #: Binds at once per system_id (an account's max_binds may be lower); one more
    #: is answered ESME_RBINDFAIL.
    max_account_binds: int = Field(default=64, ge=1)
    #: A bind refused for its credentials is answered after this many seconds,
    #: doubled for each further refusal to the same address, up to the max.
    failed_bind_delay: float = Field(default=1.0, ge=0, allow_inf_nan=False)
    failed_bind_delay_max: float = Field(default=8.0, ge=0, allow_inf_nan=False)


#: An SMPP address as the MO carries it: printable ASCII (a NUL would end the
#: C-octet string early).
Address = Annotated[str, Field(min_length=1, max_length=20, pattern=r"^[\x20-\x7e]+$")]


class Account(_Model):
    system_id: str = Field(min_length=1, max_length=15)
    password: str = Field(default="", max_length=8)
    bind_types: frozenset[BindType] = frozenset(BindType)
    max_binds: int = Field(default=8, ge=1)
    #: Per-bind submit rate for this account (overrides ``throttle.tps``).
    tps: float | None = Field(default=None, gt=0)
    #: MO to a destination starting with one of these goes to this account.
    mo_destinations: tuple[Prefix, ...] = ()


class ThrottleSettings(_Model):
    """Per-bind submit rate limit; submits over it are answered with ``status``."""

    tps: float | None = Field(default=None, gt=0)
    burst: float | None = Field(default=None, ge=1)
    status: StatusCode = CommandStatus.ESME_RTHROTTLED


class SubmitSettings(_Model):
    """How submit_sm / data_sm / submit_multi (and query/cancel/replace) are answered."""

    latency: Distribution = ZERO
    #: Weighted mix of command_status values; empty: always ESME_ROK.
    statuses: dict[StatusCode, Weight] = {}
    #: destination prefix -> command_status, longest prefix first; wins over the mix.
    prefixes: dict[Prefix, StatusCode] = {}

    @field_validator("statuses")
    @classmethod
    def _some_weight(cls, value: dict[int, float]) -> dict[int, float]:
        if value and not any(weight > 0 for weight in value.values()):
            raise ValueError("at least one status needs a positive weight")
        return value


class ReceiptSettings(_Model):
    enabled: bool = True
    delay: Distribution = ZERO
    #: Weighted mix of final states.
    states: dict[FinalState, Weight] = {MessageState.DELIVERED: 1.0}
    #: destination prefix -> final state, longest prefix first; wins over the mix.
    prefixes: dict[Prefix, FinalState] = {}
    #: Probability that a receipt goes out before the submit_sm_resp.
    before_resp: Probability = 0.0
    #: Probability that a receipt is sent twice.
    duplicate: Probability = 0.0
    format: Literal["text", "tlv", "both"] = "both"
    date_digits: Literal[10, 12] = 10
    #: The id in receipts: as in submit_sm_resp, or the same number in hex / decimal.
    id_format: Literal["same", "hex", "decimal"] = "same"
    #: Put the first 20 characters of the message in the text's ``text:`` field.
    include_text: bool = True
    #: Delay of the intermediate notification (registered_delivery bit 4).
    intermediate_delay: Distribution = ZERO
    #: The ``err:`` code per final state (default 0 for DELIVRD, 1 otherwise).
    errors: dict[FinalState, Annotated[int, Field(ge=0, le=255)]] = {}
    #: Receipts held for an account with no receiver bound, at most.
    max_pending: int = Field(default=100_000, ge=0)
    #: Attempts per deliver_sm (answered with an error or not at all) before giving up.
    max_attempts: int = Field(default=3, ge=1)
    retry_delay: Distribution = Fixed(value=5.0)

    @field_validator("states")
    @classmethod
    def _some_weight(cls, value: dict[MessageState, float]) -> dict[MessageState, float]:
        if not any(weight > 0 for weight in value.values()):
            raise ValueError("at least one state needs a positive weight")
        return value


class MoMessageSpec(_Model):
    """One mobile-originated message."""

    source: Address
    destination: Address
    text: str
    #: Deliver to this account's receivers; unset: route by destination.
    system_id: str | None = Field(default=None, min_length=1, max_length=15)
    #: Force a data_coding; unset: the cheapest that carries the text.
    data_coding: int | None = Field(default=None, ge=0, le=255)
    concatenation: Literal["udh8", "udh16", "sar", "payload"] = "udh8"
    source_ton: int = Field(default=1, ge=0, le=255)
    source_npi: int = Field(default=1, ge=0, le=255)
    dest_ton: int = Field(default=0, ge=0, le=255)
    dest_npi: int = Field(default=1, ge=0, le=255)


class MoScheduleEntry(MoMessageSpec):
    """An MO sent ``at`` seconds after the scenario starts, ``count`` times ``every``
    seconds (``count`` 0 with ``every``: until the scenario changes)."""

    at: float = Field(default=0.0, ge=0)
    every: float | None = Field(default=None, gt=0)
    count: int = Field(default=1, ge=0)

    @model_validator(mode="after")
    def _repeat(self) -> MoScheduleEntry:
        if self.every is None and self.count != 1:
            raise ValueError("count other than 1 needs every")
        return self


class MoSettings(_Model):
    messages: tuple[MoScheduleEntry, ...] = ()
    #: A CSV file (source, destination, text[, delay]), relative to the scenario file.
    csv: Path | None = None
    #: Seconds after the scenario starts before the CSV plays.
    csv_start: float = Field(default=0.0, ge=0)
    #: The account the CSV's messages go to (unset: route by destination).
    csv_system_id: str | None = Field(default=None, min_length=1, max_length=15)
    #: MO held for an account with no receiver bound, at most.
    max_pending: int = Field(default=10_000, ge=0)
    #: Injected MO remembered for QA (``GET /mo``), at most.
    log_cap: int = Field(default=10_000, ge=0)


class FaultSettings(_Model):
    """Standing faults for as long as the scenario runs."""

    #: Answer every bind with ``refuse_status``.
    refuse_binds: bool = False
    refuse_status: StatusCode = CommandStatus.ESME_RBINDFAIL
    #: Accept connections but read and answer nothing (binds included).
    stall: bool = False


class RecordSettings(_Model):
    #: Accepted messages kept for QA; the oldest are dropped (and counted) beyond it.
    cap: int = Field(default=100_000, ge=0)


class Phase(_Model):
    """One stretch of a timeline: ``use`` names another scenario (or file), or
    ``scenario`` holds one inline; ``duration`` seconds (unset: for good)."""

    duration: float | None = Field(default=None, gt=0)
    use: str | None = None
    scenario: Scenario | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Phase:
        if (self.use is None) == (self.scenario is None):
            raise ValueError("a phase needs exactly one of 'use' (a scenario name) or 'scenario'")
        if self.scenario is not None and self.scenario.phases:
            raise ValueError("a phase's scenario cannot have phases of its own")
        return self


_BEHAVIOUR_KEYS = frozenset(
    {"smsc", "accounts", "submit", "throttle", "receipts", "mo", "faults", "records"}
)


class Scenario(_Model):
    name: str = Field(default="default", min_length=1, max_length=64)
    description: str = ""
    #: Seeds the simulator's one RNG each time this scenario is applied.
    seed: int = 0
    smsc: SmscSettings = SmscSettings()
    #: No accounts: any system_id and password bind.
    accounts: tuple[Account, ...] = ()
    submit: SubmitSettings = SubmitSettings()
    throttle: ThrottleSettings = ThrottleSettings()
    receipts: ReceiptSettings = ReceiptSettings()
    mo: MoSettings = MoSettings()
    faults: FaultSettings = FaultSettings()
    records: RecordSettings = RecordSettings()
    phases: tuple[Phase, ...] = ()
    #: Start the phases over after the last one (every phase then needs a duration).
    loop: bool = False

    @model_validator(mode="after")
    def _check(self) -> Scenario:
        names = [account.system_id for account in self.accounts]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"accounts: system_id {duplicates[0]!r} is listed twice")
        if not self.phases:
            if self.loop:
                raise ValueError("loop needs phases")
            return self
        mixed = sorted(_BEHAVIOUR_KEYS & self.model_fields_set)
        if mixed:
            raise ValueError(
                f"a scenario with phases takes its behaviour from its phases; "
                f"move {', '.join(mixed)} into the phase scenarios"
            )
        for index, phase in enumerate(self.phases):
            last = index == len(self.phases) - 1
            if phase.duration is None and (self.loop or not last):
                raise ValueError(
                    f"phases[{index}] needs a duration (only the last phase of a "
                    "timeline without loop may run for good)"
                )
        return self

    @property
    def has_phases(self) -> bool:
        return bool(self.phases)


# --- errors --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a scenario: the dotted key, the value found, why.

    ``file`` is the file the key, value and message were read from, None when
    they came from the caller. Then ``public`` is the message with nothing quoted
    from that file, when there is one, and ``at`` the caller's key that led to the
    file (``phases[0].use``; None: the file itself). See :meth:`shown`.
    """

    key: str
    value: object
    message: str
    file: str | None = None
    public: str | None = None
    at: str | None = None

    def __str__(self) -> str:
        if self.value is _MISSING:
            return f"{self.key}: {self.message}"
        return f"{self.key} = {_short(self.value)}: {self.message}"

    @property
    def caller_key(self) -> str:
        """The key in the caller's own data (empty: the file the caller named)."""
        return self.key if self.file is None else self.at or ""

    def shown(self) -> str:
        """This problem as the control API tells it: of a file, only its name and,
        when known to quote nothing from it, why (keys are the file's text too)."""
        if self.file is None:
            return str(self)
        why = self.public or "invalid (the simulator's log has the details)"
        where = f"{self.at}: " if self.at else ""
        return f"{where}{Path(self.file).name}: {why}"


_MISSING: Any = object()


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class ScenarioError(ValueError):
    """A scenario that cannot be used; ``problems`` names each key and value at fault."""

    def __init__(self, source: str, problems: Sequence[Problem]) -> None:
        self.source = source
        self.problems = list(problems)
        detail = "\n".join(f"  {problem}" for problem in self.problems)
        super().__init__(f"invalid scenario {source}:\n{detail}")

    @property
    def field(self) -> str:
        """The first offending key."""
        return self.problems[0].key if self.problems else ""

    def shown(self, source: str | None = None) -> str:
        """The message without anything quoted from a file (:meth:`Problem.shown`),
        the scenario called ``source`` (default: as loaded)."""
        detail = "\n".join(f"  {problem.shown()}" for problem in self.problems)
        return f"invalid scenario {source or self.source}:\n{detail}"

    @property
    def quotes_files(self) -> bool:
        """Some problem is about what a file holds."""
        return any(problem.file is not None for problem in self.problems)


def _location(loc: Iterable[int | str], prefix: str = "") -> str:
    out = prefix
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in {"fixed", "uniform", "exponential", "lognormal", "function-before[...]"}:
            continue  # pydantic's union tags: not keys the user wrote
        elif part.startswith("function-") or part == "[key]":
            continue
        else:
            out += f".{part}" if out else part
    return out or "(top level)"


def _problems(exc: ValidationError, prefix: str = "") -> list[Problem]:
    problems: list[Problem] = []
    for error in exc.errors(include_url=False):
        message = error["msg"].removeprefix("Value error, ")
        value = error.get("input", _MISSING)
        if error["type"] == "missing":
            value = _MISSING
        problems.append(Problem(_location(error["loc"], prefix), value, message))
    return problems


# --- loading -------------------------------------------------------------------------


def default_search_path() -> list[Path]:
    """Where scenarios named without a path are looked for, in order."""
    dirs = [Path(p) for p in os.environ.get(SCENARIO_PATH_ENV, "").split(os.pathsep) if p]
    dirs.append(Path.cwd() / "config" / "scenarios")
    if _REPO_SCENARIOS not in dirs:
        dirs.append(_REPO_SCENARIOS)
    return dirs


def find_scenario(name: str, search: Sequence[Path] = ()) -> Path:
    """The file of the scenario called ``name`` (a file name or path also works)."""
    candidate = Path(name)
    if candidate.suffix == ".toml" and candidate.is_file():
        return candidate
    filename = name if name.endswith(".toml") else f"{name}.toml"
    dirs = [*search, *default_search_path()]
    for directory in dirs:
        path = directory / filename
        if path.is_file():
            return path
    looked = ", ".join(str(d) for d in dirs)
    raise ScenarioError(
        repr(name), [Problem("name", name, f"no scenario file {filename} in {looked}")]
    )


def load_scenario(path: Path | str, *, search: Sequence[Path] = ()) -> Scenario:
    """Read and validate one scenario file (and the phase scenarios it uses)."""
    return _load(Path(path), search, stack=())


def parse_scenario(
    data: Mapping[str, Any],
    *,
    source: str = "<inline>",
    base_dir: Path | None = None,
    search: Sequence[Path] = (),
    default_name: str = "inline",
    within: ScenarioFolder | None = None,
) -> Scenario:
    """Validate a scenario given as a mapping (as TOML parses it).

    Relative paths (``mo.csv``, phases' ``use``) are resolved against ``base_dir``.
    With ``within`` (a scenario from a control request), every file it names must
    be inside that folder: nothing else is opened.
    """
    return _parse(data, source, base_dir, search, default_name, stack=(), within=within)


def _load(path: Path, search: Sequence[Path], stack: tuple[Path, ...]) -> Scenario:
    source = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ScenarioError(source, [Problem("file", source, exc.strerror or str(exc))]) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        why = f"not UTF-8 (at byte {exc.start})"
        raise ScenarioError(source, [Problem("file", source, why, source, why)]) from None
    except tomllib.TOMLDecodeError as exc:
        where = _TOML_POSITION.search(str(exc))
        public = f"not valid TOML{f' ({where.group(0)})' if where else ''}"
        problem = Problem("file", _MISSING, f"not valid TOML: {exc}", source, public)
        raise ScenarioError(source, [problem]) from None
    try:
        return _parse(data, source, path.parent, search, path.stem, (*stack, path.resolve()))
    except ScenarioError as exc:
        # Everything found wrong here was read from this file (or from one it uses).
        problems = [p if p.file is not None else replace(p, file=source) for p in exc.problems]
        raise ScenarioError(exc.source, problems) from None


_TOML_POSITION = re.compile(r"at (line \d+, column \d+|end of document)")


def _parse(  # noqa: PLR0917 - internal, mirrors parse_scenario
    data: Mapping[str, Any],
    source: str,
    base_dir: Path | None,
    search: Sequence[Path],
    default_name: str,
    stack: tuple[Path, ...],
    within: ScenarioFolder | None = None,
) -> Scenario:
    if not isinstance(data, Mapping):
        raise ScenarioError(source, [Problem("(top level)", data, "expected a table")])
    data = dict(data)
    data.setdefault("name", default_name)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(source, _problems(exc)) from None
    dirs = [base_dir, *search] if base_dir is not None else list(search)
    return _resolve(scenario, source, base_dir, dirs, stack, within=within)


def _resolve(  # noqa: PLR0917 - internal recursion
    scenario: Scenario,
    source: str,
    base_dir: Path | None,
    search: Sequence[Path],
    stack: tuple[Path, ...],
    prefix: str = "",
    within: ScenarioFolder | None = None,
) -> Scenario:
    """Resolve relative paths: the MO CSV (checked row by row now) and phases' ``use``."""
    problems: list[Problem] = []
    mo = scenario.mo
    if mo.csv is not None:
        csv_path: Path | None = None
        if within is None:
            csv_path = mo.csv if mo.csv.is_absolute() or base_dir is None else base_dir / mo.csv
        else:
            try:
                csv_path = within.file(str(mo.csv))
            except FolderError as exc:
                problems.append(Problem(f"{prefix}mo.csv", str(mo.csv), exc.reason))
        if csv_path is not None:
            try:
                read_mo_csv(csv_path)
            except OSError as exc:
                problems.append(Problem(f"{prefix}mo.csv", str(mo.csv), exc.strerror or str(exc)))
            except MoCsvError as exc:
                problems.append(
                    Problem(
                        f"{prefix}mo.csv",
                        str(mo.csv),
                        f"line {exc.line}: {exc.column} = {exc.value!r}: {exc.reason}",
                        str(csv_path),
                        exc.shown(),
                        f"{prefix}mo.csv",
                    )
                )
            else:
                mo = mo.model_copy(update={"csv": csv_path})
    phases: list[Phase] = []
    for index, phase in enumerate(scenario.phases):
        key = f"{prefix}phases[{index}]"
        if phase.scenario is not None:
            try:
                inner = _resolve(
                    phase.scenario, source, base_dir, search, stack, f"{key}.scenario.", within
                )
            except ScenarioError as exc:
                problems.extend(exc.problems)
                continue
            phases.append(phase.model_copy(update={"scenario": inner}))
            continue
        assert phase.use is not None
        try:
            if within is None:
                path = _find_relative(phase.use, search)
            else:
                path = within.scenario(phase.use)
        except ScenarioError as exc:
            problems.append(Problem(f"{key}.use", phase.use, exc.problems[0].message))
            continue
        except FolderError as exc:
            problems.append(Problem(f"{key}.use", phase.use, exc.reason))
            continue
        if path.resolve() in stack:
            problems.append(Problem(f"{key}.use", phase.use, "a scenario cannot use itself"))
            continue
        try:
            inner = _load(path, search, stack)
        except ScenarioError as exc:
            problems.extend(
                Problem(
                    f"{key}.use ({path.name}): {p.key}",
                    p.value,
                    p.message,
                    p.file or str(path),
                    p.public,
                    f"{key}.use",
                )
                for p in exc.problems
            )
            continue
        if inner.phases:
            problems.append(
                Problem(f"{key}.use", phase.use, "a phase cannot use a scenario with phases")
            )
            continue
        phases.append(phase.model_copy(update={"scenario": inner}))
    if problems:
        raise ScenarioError(source, problems)
    return scenario.model_copy(update={"mo": mo, "phases": tuple(phases)})


def _find_relative(name: str, search: Sequence[Path]) -> Path:
    path = Path(name)
    if path.is_absolute():
        if path.is_file():
            return path
        raise ScenarioError(name, [Problem("use", name, "no such file")])
    for directory in search:
        candidate = directory / name
        if candidate.suffix == ".toml" and candidate.is_file():
            return candidate
    return find_scenario(name, search)


Phase.model_rebuild()
Scenario.model_rebuild()
