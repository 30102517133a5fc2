"""An SMSC simulator QA can script: scenarios in TOML, receipts, MO, faults, records.

Run it in-process (``sim = await nursery.start(Simulator(scenario).run)``) or from
the command line through :func:`run_simulator`.
"""

from .control_api import create_control_app, serve_control_api
from .faults import FaultError, FaultKind, Malformed
from .mo import MoError, MoLogEntry, MoResult
from .mo_csv import CsvMo, MoCsvError, parse_mo_csv, read_mo_csv
from .records import MessageRecord, MessageStore
from .scenario import (
    Account,
    BindType,
    MoMessageSpec,
    Problem,
    Scenario,
    ScenarioError,
    default_search_path,
    find_scenario,
    load_scenario,
    parse_scenario,
)
from .scenario_folder import FolderError, ScenarioFolder
from .server import Simulator, run_simulator

__all__ = [
    "Account",
    "BindType",
    "CsvMo",
    "FaultError",
    "FaultKind",
    "FolderError",
    "Malformed",
    "MessageRecord",
    "MessageStore",
    "MoCsvError",
    "MoError",
    "MoLogEntry",
    "MoMessageSpec",
    "MoResult",
    "Problem",
    "Scenario",
    "ScenarioError",
    "ScenarioFolder",
    "Simulator",
    "create_control_app",
    "default_search_path",
    "find_scenario",
    "load_scenario",
    "parse_mo_csv",
    "parse_scenario",
    "read_mo_csv",
    "run_simulator",
    "serve_control_api",
]
