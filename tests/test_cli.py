"""The installed ``smpp-engine`` command, run as a user runs it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from smpp_engine.protocol import EnquireLink, SubmitSm, Tag, encode_pdu


def _command() -> list[str]:
    script = Path(sys.executable).parent / "smpp-engine"
    found = str(script) if script.exists() else shutil.which("smpp-engine")
    assert found, "the smpp-engine console script is not installed"
    return [found]


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*_command(), *args], input=stdin, capture_output=True, text=True, timeout=60, check=False
    )


def test_pdu_decode_prints_json_by_spec_names() -> None:
    wire = encode_pdu(
        SubmitSm(
            sequence_number=12,
            source_addr="ACME",
            short_message=b"Hi",
            tlvs={Tag.sar_msg_ref_num: 5},
        )
    )
    result = run("pdu", "decode", wire.hex())
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert (out["command"], out["sequence_number"], out["source_addr"]) == ("submit_sm", 12, "ACME")
    assert out["tlvs"] == {"sar_msg_ref_num": 5}


def test_pdu_decode_accepts_spaced_hex_from_stdin() -> None:
    wire = encode_pdu(EnquireLink(sequence_number=3)).hex()
    spaced = " ".join(wire[i : i + 2] for i in range(0, len(wire), 2))
    result = run("pdu", "decode", "-", stdin=spaced + "\n")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["command"] == "enquire_link"


def test_pdu_encode_is_the_inverse_of_decode() -> None:
    wire = encode_pdu(SubmitSm(sequence_number=1, destination_addr="4477", short_message=b"x"))
    decoded = run("pdu", "decode", wire.hex()).stdout
    result = run("pdu", "encode", decoded)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == wire.hex()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("pdu", "decode", "0000001000000004"), "ESME_RINVCMDLEN"),
        (("pdu", "decode", "not hex"), "not hexadecimal"),
        (("pdu", "decode", "0000001000000099000000000000000a"), "ESME_RINVCMDID"),
        (("pdu", "encode", "{oops"), "invalid JSON"),
        (("pdu", "encode", '{"command": "submit_sm", "source_addr_ton": 999}'), "source_addr_ton"),
    ],
)
def test_bad_input_prints_the_typed_error_and_exits_non_zero(
    args: tuple[str, ...], message: str
) -> None:
    result = run(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert result.stdout == ""
