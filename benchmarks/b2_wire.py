"""B2 wire (and B6 peers): one bind, windows 1/10/64/256, simulator acks at once, no DLR.

The simulator runs in its own process. For each window this engine's ESME client
sends the messages over one bind; smpplib's client, aiosmpplib's client and the
raw load client run against the same simulator in the same run, each in its own
process, so the ratios compare like with like.

    python -m benchmarks.b2_wire [--messages 200000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from .esme_load import load, median
from .processes import simulator
from .raw_client import blast
from .report import write

WINDOWS = (1, 10, 64, 256)


def peer(module: str, port: int, messages: int, window: int) -> float:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            f"benchmarks.peers.{module}",
            "127.0.0.1",
            str(port),
            str(messages),
            str(window),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    ).stdout
    return float(json.loads(out.strip().splitlines()[-1])["per_s"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument(
        "--window1-messages",
        type=int,
        default=20_000,
        help="window 1 is latency-bound: fewer messages keep the run short",
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--peer-messages", type=int, default=20_000)
    args = parser.parse_args()
    figures: dict[str, object] = {}
    runs: dict[str, list[dict[str, float]]] = {}
    print(f"{'window':>6} {'submit_sm/s':>12} {'p50 ms':>8} {'p99 ms':>8}")
    with simulator("healthy") as port:
        load(port, 5_000, 64)  # warm-up: imports, caches, TCP
        for window in WINDOWS:
            n = args.window1_messages if window == 1 else args.messages
            rounds = [load(port, n, window) for _ in range(args.rounds)]
            assert all(r.accepted == n for r in rounds), "messages were lost or rejected"
            runs[f"window_{window}"] = [r.figures() for r in rounds]
            best = sorted(rounds, key=lambda r: r.per_s)[len(rounds) // 2]
            figures[f"window_{window}_per_s"] = round(median([r.per_s for r in rounds]))
            figures[f"window_{window}_p50_ms"] = round(best.percentile_ms(0.5), 3)
            figures[f"window_{window}_p99_ms"] = round(best.percentile_ms(0.99), 3)
            figures[f"window_{window}_client_cpu_us_per_msg"] = round(
                1e6 * median([r.cpu_s / r.messages for r in rounds]), 1
            )
            print(
                f"{window:>6} {figures[f'window_{window}_per_s']:>12,} "
                f"{figures[f'window_{window}_p50_ms']:>8} {figures[f'window_{window}_p99_ms']:>8}"
            )
        ours_256 = float(figures["window_256_per_s"])  # type: ignore[arg-type]
        raw = median(
            [blast("127.0.0.1", port, args.messages, 256).acks_per_s for _ in range(args.rounds)]
        )
        smpplib_rate = median(
            [peer("smpplib_client", port, args.peer_messages, 256) for _ in range(args.rounds)]
        )
        aiosmpplib_rate = median(
            [
                peer("aiosmpplib_client", port, args.peer_messages // 4, 256)
                for _ in range(args.rounds)
            ]
        )
    figures.update(
        {
            "raw_client_per_s": round(raw),
            "smpplib_per_s": round(smpplib_rate),
            "aiosmpplib_per_s": round(aiosmpplib_rate),
            "ratio_to_smpplib": round(ours_256 / smpplib_rate, 2),
            "ratio_to_aiosmpplib": round(ours_256 / aiosmpplib_rate, 2),
            "share_of_raw_client": round(ours_256 / raw, 2),
            # Window 256 against the raw client's ceiling through the same simulator.
            "target_share_of_raw_client": 0.7,
        }
    )
    print(
        f"raw client {raw:,.0f}/s   smpplib {smpplib_rate:,.0f}/s   "
        f"aiosmpplib {aiosmpplib_rate:,.0f}/s   ours/smpplib {figures['ratio_to_smpplib']}x   "
        f"ours/aiosmpplib {figures['ratio_to_aiosmpplib']}x"
    )
    write("b2_wire", vars(args), figures, runs, packages=("smpplib", "aiosmpplib", "trio"))


if __name__ == "__main__":
    main()
