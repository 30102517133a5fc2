"""B1 codec: encode submit_sm + decode submit_sm_resp + decode a DLR deliver_sm.

Runs this engine's codec and smpplib's on the same three operations in the same
process, interleaved round by round so both see the same machine noise, and
reports ops/s (one op = the three steps) with the ratio per round and its median.

    python -m benchmarks.b1_codec [--ops 50000] [--rounds 7]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import smpplib.smpp

from smpp_engine.protocol import DeliverSm, SubmitSm, SubmitSmResp, Tag, decode_pdu, encode_pdu

from .report import median, write

SOURCE = "ACME"
DESTINATION = "447700900123"
TEXT = b"Your electricity bill of 42.17 EUR is due on 05.12."
MESSAGE_ID = "1a2b3c4d"
# The submit_sm both codecs build and encode, field by field.
SUBMIT_FIELDS = {
    "source_addr_ton": 5,
    "source_addr": SOURCE,
    "dest_addr_ton": 1,
    "dest_addr_npi": 1,
    "destination_addr": DESTINATION,
    "registered_delivery": 1,
    "short_message": TEXT,
}
RECEIPT_TEXT = (
    b"id:1a2b3c4d sub:001 dlvrd:001 submit date:2611231200 done date:2611231201"
    b" stat:DELIVRD err:000 text:Your electricity bil"
)


def wire_inputs() -> tuple[bytes, bytes]:
    """The submit_sm_resp and DLR bytes both codecs decode (made by smpplib, a third party)."""
    resp = smpplib.smpp.make_pdu("submit_sm_resp", sequence=7, message_id=MESSAGE_ID)
    resp.sequence = 7
    dlr = smpplib.smpp.make_pdu(
        "deliver_sm",
        sequence=9,
        source_addr=DESTINATION,
        destination_addr=SOURCE,
        esm_class=0x04,
        short_message=RECEIPT_TEXT,
        receipted_message_id=MESSAGE_ID,
        message_state=2,
    )
    dlr.sequence = 9
    return resp.generate(), dlr.generate()


def ours(resp: bytes, dlr: bytes) -> Callable[[int], None]:
    def run(n: int) -> None:
        for seq in range(1, n + 1):
            encode_pdu(SubmitSm(sequence_number=seq, **SUBMIT_FIELDS))
            decode_pdu(resp)
            decode_pdu(dlr)

    return run


def theirs(resp: bytes, dlr: bytes) -> Callable[[int], None]:
    make, parse = smpplib.smpp.make_pdu, smpplib.smpp.parse_pdu

    def run(n: int) -> None:
        for seq in range(1, n + 1):
            make("submit_sm", sequence=seq, **SUBMIT_FIELDS).generate()
            parse(resp, sequence=0)
            parse(dlr, sequence=0)

    return run


def check_equivalence(resp: bytes, dlr: bytes) -> None:
    """Both sides must do the same work: same bytes out, same fields in."""
    mine = encode_pdu(SubmitSm(sequence_number=1, **SUBMIT_FIELDS))
    other = smpplib.smpp.make_pdu("submit_sm", sequence=1, **SUBMIT_FIELDS)
    other.sequence = 1
    assert mine == other.generate(), "the two codecs encode different submit_sm bytes"
    decoded = decode_pdu(dlr)
    assert isinstance(decoded, DeliverSm)
    assert decoded.tlvs[Tag.receipted_message_id] == MESSAGE_ID
    assert decoded.short_message == RECEIPT_TEXT
    response = decode_pdu(resp)
    assert isinstance(response, SubmitSmResp) and response.message_id == MESSAGE_ID


def timed(run: Callable[[int], None], n: int) -> float:
    start = time.perf_counter()
    run(n)
    return n / (time.perf_counter() - start)


def engine_us_per_op(ops: int = 50_000, rounds: int = 5) -> float:
    """B1's figure alone (this engine's µs per op, median of ``rounds``), for a benchmark
    that states its own cost in codec ops measured in the same run."""
    resp, dlr = wire_inputs()
    run = ours(resp, dlr)
    timed(run, ops // 10)  # warm-up
    return 1e6 / median([timed(run, ops) for _ in range(rounds)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=50_000, help="ops per round for this engine")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    resp, dlr = wire_inputs()
    check_equivalence(resp, dlr)
    mine, other = ours(resp, dlr), theirs(resp, dlr)
    # smpplib is far slower: give it fewer ops per round so a round takes similar time.
    other_ops = max(args.ops // 20, 500)
    timed(mine, args.ops // 10)  # warm-up
    timed(other, other_ops // 10)
    ours_rates, theirs_rates, ratios = [], [], []
    print(f"{'round':>5} {'engine ops/s':>14} {'smpplib ops/s':>14} {'ratio':>7}")
    for round_no in range(1, args.rounds + 1):
        a = timed(mine, args.ops)
        b = timed(other, other_ops)
        ours_rates.append(a)
        theirs_rates.append(b)
        ratios.append(a / b)
        print(f"{round_no:>5} {a:>14,.0f} {b:>14,.0f} {a / b:>6.1f}x")
    figures = {
        "engine_ops_per_s": round(median(ours_rates)),
        "smpplib_ops_per_s": round(median(theirs_rates)),
        "ratio_to_smpplib": round(median(ratios), 2),
        "engine_us_per_op": round(1e6 / median(ours_rates), 3),
        "rounds": args.rounds,
        "target_ratio": 20,
    }
    print(
        f"median {figures['engine_ops_per_s']:>8,} {figures['smpplib_ops_per_s']:>14,}"
        f" {figures['ratio_to_smpplib']:>6.1f}x   (one op = encode submit_sm +"
        " decode submit_sm_resp + decode DLR deliver_sm)"
    )
    write(
        "b1_codec",
        {
            "ops_per_round_engine": args.ops,
            "ops_per_round_smpplib": other_ops,
            "rounds": args.rounds,
            "text_octets": len(TEXT),
            "dlr_octets": len(dlr),
        },
        figures,
        {"engine_ops_per_s": ours_rates, "smpplib_ops_per_s": theirs_rates, "ratios": ratios},
        packages=("smpplib",),
    )


if __name__ == "__main__":
    main()
