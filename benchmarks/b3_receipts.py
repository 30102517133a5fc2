"""B3 full: like B2 at window 256, but every message gets a DLR at once, matched in memory.

The same rounds without receipts (B2's figure) run against the same simulator, so
the share of B2 is measured side by side.

python -m benchmarks.b3_receipts [--messages 100000] [--rounds 3] [--window 256]
"""

from __future__ import annotations

import argparse

from .esme_load import load, median
from .processes import simulator
from .report import write


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--window", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with simulator("healthy") as port:
        load(port, 5_000, args.window, receipts=True)  # warm-up
        rounds = []
        plain = []
        for _ in range(args.rounds):
            rounds.append(load(port, args.messages, args.window, receipts=True))
            plain.append(load(port, args.messages, args.window, receipts=False))
    for r in rounds:
        assert r.accepted == args.messages and r.receipts_matched == args.messages, r
        p99 = r.percentile_ms(0.99)
        print(
            f"{r.per_s:>10,.0f} messages/s with their DLR matched (p99 submit->resp {p99:.1f} ms)"
        )
    with_dlr = median([r.per_s for r in rounds])
    without = median([r.per_s for r in plain])
    figures = {
        "messages_with_dlr_per_s": round(with_dlr),
        "without_dlr_per_s": round(without),
        "share_of_b2": round(with_dlr / without, 2),
        "client_cpu_us_per_msg": round(1e6 * median([r.cpu_s / r.messages for r in rounds]), 1),
        "window": args.window,
        "rounds": args.rounds,
        "target_share_of_b2": 0.5,
    }
    write("b3_receipts", vars(args), figures, {"rounds": [r.figures() for r in rounds]})


if __name__ == "__main__":
    main()
