"""B7 simulator: the SMSC simulator alone against a minimal raw client.

The simulator runs in its own process (``smpp-engine sim``); the raw client
(benchmarks/raw_client.py) keeps a window of pre-encoded submit_sm outstanding
and counts submit_sm_resp from their headers, so the figure is the simulator's.
The engine's own client at the same window (B2's figure) runs against the same
simulator, so the simulator's headroom over it is measured side by side.

    python -m benchmarks.b7_simulator [--messages 200000] [--window 256] [--rounds 5]
"""

from __future__ import annotations

import argparse

from .esme_load import load
from .processes import simulator
from .raw_client import blast
from .report import median, write


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--window", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--scenario", default="healthy")
    args = parser.parse_args()
    rates: list[float] = []
    receipt_rates: list[float] = []
    engine_rates: list[float] = []
    print(f"{'round':>5} {'acks/s':>12} {'with receipts/s':>16}")
    with simulator(args.scenario) as port:
        blast("127.0.0.1", port, 10_000, args.window)  # warm-up
        for round_no in range(1, args.rounds + 1):
            plain = blast("127.0.0.1", port, args.messages, args.window)
            receipts = blast(
                "127.0.0.1",
                port,
                args.messages // 2,
                args.window,
                registered_delivery=1,
                wait_receipts=True,
            )
            assert plain.acked == args.messages and receipts.receipts >= receipts.acked
            rates.append(plain.acks_per_s)
            engine_rates.append(load(port, args.messages // 4, args.window).per_s)
            # acks and receipts both cross the wire: count messages completed per second
            receipt_rates.append(receipts.acked / receipts.elapsed_s)
            print(f"{round_no:>5} {rates[-1]:>12,.0f} {receipt_rates[-1]:>16,.0f}")
    figures = {
        "acks_per_s": round(median(rates)),
        "engine_client_per_s": round(median(engine_rates)),
        "ratio_to_b2": round(median(rates) / median(engine_rates), 2),
        "messages_with_receipt_per_s": round(median(receipt_rates)),
        "window": args.window,
        "rounds": args.rounds,
        "target_ratio_to_b2": 2,
    }
    write(
        "b7_simulator",
        vars(args),
        figures,
        {"acks_per_s": rates, "messages_with_receipt_per_s": receipt_rates},
    )


if __name__ == "__main__":
    main()
