"""The embedded default: no file needed, SQLite, and a route to the built-in simulator."""

from __future__ import annotations

import tomllib
from dataclasses import replace
from pathlib import Path

import pytest
import trio

from smpp_engine.esme import BindRejectedError, open_bind
from smpp_engine.pipeline import SmscRoute
from smpp_engine.settings import (
    Settings,
    default_toml,
    load_settings,
    read_toml,
    settings_data,
    to_toml,
)
from smpp_engine.simulator import Simulator

REPO = Path(__file__).resolve().parents[2]


def test_the_default_loads_without_a_file() -> None:
    settings = load_settings(None, {})
    assert settings.store.url == "sqlite:///smpp-engine.db"
    assert settings.http.host == "127.0.0.1"
    assert settings.http.metrics_public is True
    assert settings.simulator.enabled
    assert [smsc.name for smsc in settings.smsc] == ["default"]


def test_the_default_route_points_at_the_built_in_simulator() -> None:
    settings = load_settings(None, {})
    route = settings.smsc[0].to_route()
    assert isinstance(route, SmscRoute)
    assert route.name == "default"
    assert (route.esme.host, route.esme.port) == (settings.simulator.host, settings.simulator.port)
    assert route.esme.system_id == settings.simulator.system_id
    assert route.esme.password == settings.simulator.password
    assert route.esme.ack_inbound is True


async def test_the_simulator_accepts_the_default_route_and_nothing_else() -> None:
    settings = load_settings(None, {})
    simulator = Simulator(settings.simulator.load_scenario(), host=settings.simulator.host, port=0)
    route = settings.smsc[0].to_route()
    async with trio.open_nursery() as nursery:
        await nursery.start(simulator.run)
        esme = replace(route.esme, port=simulator.port)
        async with open_bind(esme) as bind:
            assert bind.config.system_id == "engine"
        with pytest.raises(BindRejectedError):
            async with open_bind(replace(esme, password="wrong")):
                pass
        nursery.cancel_scope.cancel()


def test_config_default_toml_is_a_byte_identical_copy_of_the_packaged_one() -> None:
    packaged = REPO / "smpp_engine" / "settings" / "default.toml"
    assert (REPO / "config" / "default.toml").read_bytes() == packaged.read_bytes()
    assert default_toml() == packaged.read_text("utf-8")


def test_the_packaged_default_is_declared_as_package_data() -> None:
    # Without this an installed (non-editable) package would have no default.
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))
    package_data = pyproject["tool"]["setuptools"]["package-data"]
    assert "default.toml" in package_data["smpp_engine.settings"]


def test_config_default_toml_loads_as_a_file_too() -> None:
    assert load_settings(REPO / "config" / "default.toml", {}) == load_settings(None, {})


def test_the_effective_settings_round_trip_through_toml() -> None:
    settings = load_settings(None, {})
    text = to_toml(settings_data(settings))
    again = Settings.model_validate(read_toml(text, "shown"))
    # The shown passwords are masked; everything else is what was loaded.
    assert again.model_dump(exclude={"smsc", "simulator"}) == settings.model_dump(
        exclude={"smsc", "simulator"}
    )
    assert again.smsc[0].to_route().esme.port == settings.smsc[0].port
