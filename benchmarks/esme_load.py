"""Drive this engine's ESME client at full speed against a simulator (B2, B3, B6).

One bind, a fixed window, the streaming API (:meth:`Bind.send` with outcomes in
batches to ``on_outcomes``); optionally every message asks for a receipt, and
receipts, in batches to ``on_inbound``, are matched to their submit by message id
in memory.
"""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass, field
from functools import partial

import trio

from smpp_engine import logs
from smpp_engine.esme import EsmeConfig, Inbound, SubmitOutcome, open_bind
from smpp_engine.heap import settle_after_start

from .raw_client import bench_submit


@dataclass
class LoadResult:
    messages: int
    window: int
    accepted: int = 0
    rejected: int = 0
    unknown: int = 0
    receipts_matched: int = 0
    elapsed_s: float = 0.0
    cpu_s: float = 0.0  # this process's CPU time over the timed part
    latencies_s: list[float] = field(default_factory=list, repr=False)

    @property
    def per_s(self) -> float:
        done = self.receipts_matched if self.receipts_matched else self.accepted
        return done / self.elapsed_s if self.elapsed_s else 0.0

    def percentile_ms(self, q: float) -> float:
        if not self.latencies_s:
            return math.nan
        ordered = sorted(self.latencies_s)
        return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def figures(self) -> dict[str, float]:
        return {
            "messages": self.messages,
            "window": self.window,
            "per_s": round(self.per_s),
            "p50_ms": round(self.percentile_ms(0.50), 3),
            "p99_ms": round(self.percentile_ms(0.99), 3),
            "accepted": self.accepted,
            "rejected": self.rejected,
            "unknown": self.unknown,
            "receipts_matched": self.receipts_matched,
            # CPU per message says more than wall time on a shared or one-core machine
            "client_cpu_us_per_msg": round(1e6 * self.cpu_s / self.messages, 1),
        }


async def run_load(port: int, messages: int, window: int, *, receipts: bool) -> LoadResult:
    result = LoadResult(messages, window)
    config = EsmeConfig(
        host="127.0.0.1",
        port=port,
        system_id="engine",
        password="bench",
        window_size=window,
        response_timeout=30.0,
        enquire_link_interval=None,
    )
    done = trio.Event()
    latencies = result.latencies_s
    pending_receipts: set[str] = set()  # ids accepted, receipt not seen yet
    early_receipts: set[str] = set()  # receipts that beat their submit_sm_resp
    perf_counter = time.perf_counter

    def finished() -> bool:
        answered = result.accepted + result.rejected + result.unknown
        return answered == messages and (not receipts or result.receipts_matched == result.accepted)

    def on_outcomes(batch: list[SubmitOutcome]) -> None:
        now = perf_counter()
        for outcome in batch:
            latencies.append(now - outcome.context)
            if outcome.accepted:
                result.accepted += 1
                if receipts:
                    message_id = outcome.message_id
                    assert message_id is not None
                    if message_id in early_receipts:
                        early_receipts.discard(message_id)
                        result.receipts_matched += 1
                    else:
                        pending_receipts.add(message_id)
            elif outcome.rejected:
                result.rejected += 1
            else:
                result.unknown += 1
        if finished():
            done.set()

    def on_inbound(batch: list[Inbound]) -> None:
        for item in batch:
            if item.receipt is None:
                continue
            message_id = item.receipt.message_id
            if message_id in pending_receipts:
                pending_receipts.discard(message_id)
                result.receipts_matched += 1
            else:
                early_receipts.add(message_id)
        if finished():
            done.set()

    registered_delivery = 1 if receipts else 0
    async with open_bind(config, on_outcomes=on_outcomes, on_inbound=on_inbound) as bind:
        start = perf_counter()
        cpu_start = time.process_time()
        for _ in range(messages):
            await bind.send(
                bench_submit(registered_delivery),
                perf_counter(),
            )
        await done.wait()
        result.elapsed_s = perf_counter() - start
        result.cpu_s = time.process_time() - cpu_start
    return result


def load(port: int, messages: int, window: int, *, receipts: bool = False) -> LoadResult:
    logs.configure("warning")  # per-bind info lines would drown the table
    settle_after_start()  # as the engine's own processes do (smpp_engine.heap)
    return trio.run(partial(run_load, receipts=receipts), port, messages, window)


def median(values: list[float]) -> float:
    return statistics.median(values)
