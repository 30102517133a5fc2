"""Every [[smsc]] key lands in the EsmeConfig / SmscRoute field it stands for."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from smpp_engine.esme import BindType
from smpp_engine.pipeline import ReceiptLevel, SmscRoute, ValidityForm
from smpp_engine.protocol import Alphabet, Concatenation, MessageIdPolicy, TextProfile
from smpp_engine.settings import SmscSettings

from .helpers import MINIMAL, load_text

# (TOML line, the route field it sets, the value expected there). The first comment
# of each row is the usual gateway knob name (see config/README.md).
CASES: list[tuple[str, Callable[[SmscRoute], Any], Any]] = [
    ("throughput = 150", lambda r: r.rate, 150),  # throughput
    ("window = 48", lambda r: r.esme.window_size, 48),  # max-pending-submits
    ("enquire_link_interval = 45", lambda r: r.esme.enquire_link_interval, 45),
    ("enquire_link_interval = 0", lambda r: r.esme.enquire_link_interval, None),
    ("reconnect_delay = 7", lambda r: r.esme.reconnect.min_delay, 7),  # reconnect-delay
    ("reconnect_max_delay = 90", lambda r: r.esme.reconnect.max_delay, 90),
    ("msg_id_type = 'hex_to_dec'", lambda r: r.id_policy, MessageIdPolicy.HEX_TO_DEC),
    ("msg_id_type = 'dec_to_hex'", lambda r: r.id_policy, MessageIdPolicy.DEC_TO_HEX),
    ("msg_id_type = 'case_insensitive'", lambda r: r.id_policy, MessageIdPolicy.CASE_INSENSITIVE),
    (
        "default_alphabet = 'latin1'",  # alt-charset
        lambda r: r.text_profile,
        TextProfile(default_alphabet=Alphabet.LATIN1),
    ),
    ("default_alphabet = 'ia5'", lambda r: r.text_profile.default_alphabet, Alphabet.IA5),
    ("allow_latin1 = true", lambda r: r.text_profile.allow_latin1, True),
    ("system_type = 'VMA'", lambda r: r.esme.system_type, "VMA"),  # system-type
    ("bind_type = 'receiver'", lambda r: r.esme.bind_type, BindType.RECEIVER),
    ("binds = 3", lambda r: r.binds, 3),
    ("burst = 25", lambda r: r.burst, 25),
    ("response_timeout = 12", lambda r: r.esme.response_timeout, 12),  # wait-ack
    ("connect_timeout = 4", lambda r: r.esme.connect_timeout, 4),
    ("concatenation = 'udh16'", lambda r: r.concatenation, Concatenation.UDH16),
    ("concatenation = 'payload'", lambda r: r.concatenation, Concatenation.PAYLOAD),
    ("receipt_timeout = 3600", lambda r: r.receipt_timeout, 3600),
    (
        "validity_period = 'relative'",
        lambda r: r.submit_options.validity,
        ValidityForm.RELATIVE,
    ),
    ("max_parts = 4", lambda r: r.submit_options.max_parts, 4),
    ("flash = true", lambda r: r.submit_options.flash, True),
    ("schedule_delivery = 'smsc'", lambda r: r.submit_options.claim_early, 300.0),
    ("schedule_lead = 60", lambda r: r.submit_options.schedule_lead, 60.0),
    ("receipts = 'failure'", lambda r: r.submit_options.receipts, ReceiptLevel.FAILURE),
    (
        "receipts = 'intermediate'",
        lambda r: r.submit_options.receipts.registered_delivery,
        0x11,
    ),
    ("lease = 300", lambda r: r.lease, 300),
    ("claim_batch = 64", lambda r: r.claim_batch, 64),
    ("failover_after = 5", lambda r: r.failover_after, 5),
    ("max_unsettled = 100", lambda r: r.max_unsettled, 100),
    ("retry = { max_attempts = 3 }", lambda r: r.retry.max_attempts, 3),
    ("retry = { first_delay = 2, max_delay = 30 }", lambda r: r.retry.max_delay, 30),
    ("tls = { verify = false }", lambda r: r.esme.tls and r.esme.tls.verify, False),
    (
        "tls = { server_hostname = 'smsc' }",
        lambda r: r.esme.tls and r.esme.tls.server_hostname,
        "smsc",
    ),
]


@pytest.mark.parametrize(("line", "field", "expected"), CASES, ids=[c[0] for c in CASES])
def test_each_key_lands_in_its_route_field(
    tmp_path: Path, line: str, field: Callable[[SmscRoute], Any], expected: Any
) -> None:
    settings = load_text(tmp_path, MINIMAL + line + "\n")
    route = settings.smsc[0].to_route()
    assert field(route) == expected
    # ...and nothing else moved: the same route without the line differs only there.
    plain = load_text(tmp_path, MINIMAL).smsc[0].to_route()
    assert field(plain) != expected


def test_the_account_fields_are_the_binds_fields(tmp_path: Path) -> None:
    route = load_text(tmp_path, MINIMAL).smsc[0].to_route()
    assert (route.esme.host, route.esme.port) == ("127.0.0.1", 2775)
    assert (route.esme.system_id, route.esme.password) == ("utility", "secret1")
    assert route.esme.name == "primary"
    assert route.esme.ack_inbound is True
    assert route.esme.tls is None


def test_every_smsc_key_is_covered_by_a_mapping_case() -> None:
    covered = {line.split("=")[0].strip() for line, _, _ in CASES}
    account = {"name", "host", "port", "system_id", "password"}
    assert set(SmscSettings.model_fields) - account == covered
