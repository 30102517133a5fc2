"""Each default is written once, in code; config/README.md and the default TOML repeat it.

The README's tables give every key and its default, and, as ``(`X` in the
default)``, what the embedded default (``config/default.toml``, byte-identical to
``smpp_engine/settings/default.toml``) sets instead. Both are read here and
compared with the settings models, whose defaults come from the components
(:mod:`smpp_engine.settings.defaults`), so none of the three can drift.
"""

from __future__ import annotations

import enum
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from smpp_engine.esme import EsmeConfig, ReconnectPolicy
from smpp_engine.pipeline import Pipeline, RetryPolicy, SmscRoute
from smpp_engine.settings import (
    BillingSettings,
    CallbackSettings,
    CapSettings,
    HttpSettings,
    LogSettings,
    MoRouteSettings,
    NoticeSettings,
    PipelineSettings,
    RetentionSettings,
    RetrySettings,
    RoutingSettings,
    RuleSettings,
    SimulatorSettings,
    SmppCredential,
    SmppServerSettings,
    SmscSettings,
    StoreSettings,
    TenantSettings,
    TlsSettings,
    load_settings,
)
from smpp_engine.settings.defaults import field_default, parameter_default
from throttling import Priority

REPO = Path(__file__).resolve().parents[2]
README = REPO / "config" / "README.md"
DEFAULT_TOML = REPO / "config" / "default.toml"

TABLES: dict[str, type[BaseModel]] = {
    "store": StoreSettings,
    "log": LogSettings,
    "http": HttpSettings,
    "simulator": SimulatorSettings,
    "smsc": SmscSettings,
    "smsc.tls": TlsSettings,
    "smsc.retry": RetrySettings,
    "pipeline": PipelineSettings,
    "billing": BillingSettings,
    "notices": NoticeSettings,
    "notices.caps": CapSettings,
    "retention": RetentionSettings,
    "routing": RoutingSettings,
    "routing.rules": RuleSettings,
    "tenants": TenantSettings,
    "callbacks": CallbackSettings,
    "mo_routes": MoRouteSettings,
    "tenants.smpp": SmppCredential,
    "smpp_server": SmppServerSettings,
}

_TABLE = re.compile(r"^(?:### )?`\[\[?([a-z._]+)\]\]?`")
_ROW = re.compile(r"^\| `([a-z0-9_]+)` \| ([^|]+) \|")
_DEFAULT = re.compile(r"^`([^`]*)`(?: \(`([^`]*)` in the default\))?$")


def documented() -> dict[str, dict[str, str]]:
    """README table -> key -> its default column, as written."""
    tables: dict[str, dict[str, str]] = {}
    current: str | None = None
    for line in README.read_text("utf-8").splitlines():
        if found := _TABLE.match(line):
            current = found.group(1)
            tables.setdefault(current, {})
        elif line.startswith("#"):
            current = None  # another heading: e.g. the Kannel names
        elif current is not None and (row := _ROW.match(line)):
            tables[current][row.group(1)] = row.group(2).strip()
    return tables


def toml_value(text: str) -> Any:
    """A TOML literal, or ``...`` for prose (``none``, ``below``, ``host``)."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return ...


def plain(value: Any) -> Any:
    """A default as TOML writes it."""
    if isinstance(value, Priority):
        return value.label
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return value


def code_default(model: type[BaseModel], key: str) -> Any:
    field = model.model_fields[key]
    return ... if field.is_required() else plain(field.get_default(call_default_factory=True))


def embedded(table: str) -> dict[str, Any]:
    data: Any = tomllib.loads(DEFAULT_TOML.read_text("utf-8"))
    for part in table.split("."):
        data = data.get(part, {}) if isinstance(data, dict) else {}
        if isinstance(data, list):  # [[smsc]]: the one route of the default
            (data,) = data
    return {key: value for key, value in data.items() if not isinstance(data.get(key), dict)}


def test_the_readme_documents_every_table_and_every_key_of_it() -> None:
    tables = documented()
    assert set(tables) == set(TABLES)
    for name, model in TABLES.items():
        assert set(tables[name]) == set(model.model_fields), name


@pytest.mark.parametrize("table", list(TABLES))
def test_the_readme_gives_the_defaults_of_the_code(table: str) -> None:
    model = TABLES[table]
    for key, written in documented()[table].items():
        expected = code_default(model, key)
        literal = _DEFAULT.match(written)
        if literal is None or toml_value(literal.group(1)) is ...:
            # Prose: "required", "none", "below" (a table), "twice the windows ...".
            assert expected is ... or expected is None or isinstance(expected, dict), (key, written)
            assert (written == "required") == (expected is ...), (key, written)
            continue
        assert toml_value(literal.group(1)) == expected, f"[{table}] {key}: README {written}"


@pytest.mark.parametrize("table", list(TABLES))
def test_the_default_toml_says_what_the_code_and_the_readme_say(table: str) -> None:
    model, readme = TABLES[table], documented()[table]
    written = embedded(table)
    for key, value in written.items():
        note = _DEFAULT.match(readme[key])
        if note is not None and note.group(2) is not None:
            assert value == toml_value(note.group(2)), f"[{table}] {key}: README {readme[key]}"
        elif not model.model_fields[key].is_required():
            assert value == code_default(model, key), f"[{table}] {key} = {value!r}"
    # What the README says the default sets, the default sets.
    for key, cell in readme.items():
        note = _DEFAULT.match(cell)
        if note is not None and note.group(2) is not None:
            assert key in written, f"[{table}] {key}: README {cell}, not in default.toml"


def test_the_settings_take_the_defaults_of_what_they_configure() -> None:
    # Spot checks of the wiring (the tests above compare every key).
    smsc = SmscSettings.model_fields
    assert smsc["window"].default == field_default(EsmeConfig, "window_size")
    assert smsc["lease"].default == field_default(SmscRoute, "lease")
    assert smsc["claim_batch"].default == field_default(SmscRoute, "claim_batch")
    assert smsc["response_timeout"].default == field_default(EsmeConfig, "response_timeout")
    assert smsc["reconnect_max_delay"].default == field_default(ReconnectPolicy, "max_delay")
    assert RetrySettings().to_policy() == RetryPolicy()
    assert PipelineSettings().writer_batch == parameter_default(Pipeline, "writer_batch")
    # So a route configured with nothing but the required keys is the code's default route.
    route = load_settings(None, {}).smsc[0].model_copy(update={"window": 10}).to_route()
    assert route.esme.window_size == EsmeConfig("h", 1, "s", "p").window_size
    assert (route.lease, route.claim_batch, route.receipt_timeout) == (
        field_default(SmscRoute, "lease"),
        field_default(SmscRoute, "claim_batch"),
        field_default(SmscRoute, "receipt_timeout"),
    )


def test_field_and_parameter_defaults_are_read_or_refused() -> None:
    assert field_default(EsmeConfig, "bind_type") == "transceiver"
    with pytest.raises(KeyError):
        field_default(EsmeConfig, "host")  # required
    with pytest.raises(KeyError):
        field_default(EsmeConfig, "reconnect")  # a factory
    with pytest.raises(KeyError):
        parameter_default(Pipeline, "store")
