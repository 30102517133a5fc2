"""B8 memory: the gateway's RSS with 1,000,000 messages queued, while it sends.

One million messages are accepted into a fresh store in batches; then the
pipeline runs against the simulator (its own process) for ``--run-seconds``.
RSS is sampled from /proc throughout; the figure is the peak, in MiB.

    python -m benchmarks.b8_memory [--messages 1000000] [--stores sqlite] [--run-seconds 20]
"""

from __future__ import annotations

import argparse
import gc
import resource
import time
from pathlib import Path
from typing import Any

import trio

from smpp_engine import logs
from smpp_engine.pipeline import Pipeline
from smpp_engine.store import MessageState, NewMessage

from .b4_durable import bench_route, open_store
from .processes import simulator
from .report import write

TEXT = "Debt notice: 123.45 EUR is due on 15 December. Pay to avoid a penalty."


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def run_store(kind: str, port: int, messages: int, run_seconds: float) -> dict[str, Any]:
    peak = rss_mib()
    baseline = peak
    route = bench_route(port, "b8")
    async with open_store(kind) as store:
        start = time.perf_counter()
        batch = 2000
        for first in range(0, messages, batch):
            await store.accept(
                [
                    NewMessage(smsc="sim", source="ACME", destination=f"4477{i:08d}", text=TEXT)
                    for i in range(first, min(messages, first + batch))
                ],
                now=time.time(),
            )
            peak = max(peak, rss_mib())
        accept_s = time.perf_counter() - start
        gc.collect()
        queued_rss = rss_mib()
        async with trio.open_nursery() as nursery:
            pipeline = Pipeline(store, [route], housekeeping=3600.0)
            await nursery.start(pipeline.run)
            deadline = trio.current_time() + run_seconds
            while trio.current_time() < deadline:
                await trio.sleep(0.25)
                peak = max(peak, rss_mib())
            counts = await store.count_by_state()
            nursery.cancel_scope.cancel()
    return {
        "store": kind,
        "messages": messages,
        "accept_s": round(accept_s, 1),
        "baseline_rss_mib": round(baseline, 1),
        "rss_after_accept_mib": round(queued_rss, 1),
        "peak_rss_mib": round(peak, 1),
        "max_rss_mib_getrusage": round(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1
        ),
        "still_queued": counts.get(MessageState.QUEUED, 0),
        "delivered_while_measured": counts.get(MessageState.DELIVERED, 0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--stores", default="sqlite")
    parser.add_argument("--run-seconds", type=float, default=20.0)
    args = parser.parse_args()
    logs.configure("warning")
    results = []
    with simulator("healthy") as port:
        for kind in args.stores.split(","):
            result = trio.run(run_store, kind, port, args.messages, args.run_seconds)
            results.append(result)
            print(
                f"{kind:>10}: {result['messages']:,} queued, peak RSS {result['peak_rss_mib']} MiB "
                f"(after accepting: {result['rss_after_accept_mib']} MiB; "
                f"{result['delivered_while_measured']:,} delivered while measured)"
            )
    figures: dict[str, Any] = {"target_mib": 300}
    for result in results:
        figures[f"{result['store']}_peak_rss_mib"] = result["peak_rss_mib"]
    write("b8_memory", vars(args), figures, {"stores": results})


if __name__ == "__main__":
    main()
