"""The SMPP server face's submits go where the routing rules send them.

A rule may name the client by its SMPP system_id, as it names an HTTP client by
its API key's name; an account whose credential (or ``[smpp_server]``) names a
route keeps it, recorded as chosen explicitly, as an HTTP request naming its route.
"""

from __future__ import annotations

from pathlib import Path

from smpp_engine.routing import RouteRule, RoutingTable
from smpp_engine.settings import SmscSettings
from smpp_engine.smpp_server.accounts import Accounts
from smpp_engine.smpp_server.submits import messages_of
from throttling import Priority

from .conftest import credential, gateway_settings
from .test_submits import submit

TABLE = RoutingTable(
    rules=(
        RouteRule("acme-uk", ("backup", "default"), prefixes=("44",), clients=frozenset({"acme1"})),
    ),
    default=("default",),
)


def _accounts(tmp_path: Path, **fields: object) -> Accounts:
    settings = gateway_settings(tmp_path, credential(**fields))
    backup = settings.smsc[0].model_copy(update={"name": "backup"})
    routes: list[SmscSettings] = [*settings.smsc, backup]
    return Accounts.of(settings.model_copy(update={"smsc": routes}))


def test_a_rule_naming_the_system_id_routes_its_submits(tmp_path: Path) -> None:
    account = _accounts(tmp_path).by_system_id["acme1"]
    (uk,) = messages_of(submit(1), account, Priority.TRANSACTIONAL, 0.0, TABLE)
    assert (uk.smsc, uk.route_rule, uk.route_plan) == ("backup", "acme-uk", ("backup", "default"))
    elsewhere = submit(2, destination_addr="3361234567")
    (fr,) = messages_of(elsewhere, account, Priority.TRANSACTIONAL, 0.0, TABLE)
    assert (fr.smsc, fr.route_rule, fr.route_plan) == ("default", "default", ("default",))


def test_a_credential_naming_its_route_keeps_it_and_never_fails_over(tmp_path: Path) -> None:
    account = _accounts(tmp_path, route="default").by_system_id["acme1"]
    (message,) = messages_of(submit(1), account, Priority.TRANSACTIONAL, 0.0, TABLE)
    assert (message.smsc, message.route_rule, message.route_plan) == (
        "default",
        "explicit",
        ("default",),
    )


def test_without_a_table_nothing_is_recorded(tmp_path: Path) -> None:
    account = _accounts(tmp_path).by_system_id["acme1"]
    (message,) = messages_of(submit(1), account, Priority.TRANSACTIONAL, 0.0)
    assert (message.smsc, message.route_rule, message.route_plan) == ("default", None, ())
