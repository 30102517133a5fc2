"""aiosmpplib's asyncio ESME as a load peer: queue messages, count submit_sm_resp.

aiosmpplib has no submit window: it sends as fast as its broker queue yields and
correlates responses as they come, so ``window`` here only bounds the queue.
Run in its own process: ``python -m benchmarks.peers.aiosmpplib_client HOST PORT
MESSAGES WINDOW`` prints one JSON line with its figures.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time

from aiosmpplib import (
    ESME,
    NPI,
    TON,
    AbstractHook,
    PhoneNumber,
    SmppMessage,
    SubmitSm,
    SubmitSmResp,
)
from aiosmpplib.broker import SimpleBroker


class _Counter(AbstractHook):
    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.acked = 0
        self.errors = 0
        self.done = asyncio.Event()

    async def sending(self, smpp_message: SmppMessage, pdu: bytes, client_id: str) -> None:
        return None

    async def received(self, smpp_message: SmppMessage | None, pdu: bytes, client_id: str) -> None:
        if isinstance(smpp_message, SubmitSmResp):
            self.acked += 1
            if self.acked + self.errors >= self.expected:
                self.done.set()

    async def send_error(self, smpp_message: SmppMessage, error: Exception, client_id: str) -> None:
        if error is not None:
            self.errors += 1
            if self.acked + self.errors >= self.expected:
                self.done.set()


async def run(host: str, port: int, messages: int, window: int) -> dict[str, float]:
    counter = _Counter(messages)
    broker = SimpleBroker(maxsize=window)
    esme = ESME(
        smsc_host=host,
        smsc_port=port,
        system_id="aiosmpplib",
        password="bench",
        broker=broker,
        hook=counter,
        log_level=logging.ERROR,
    )
    runner = asyncio.create_task(esme.start())
    source = PhoneNumber("BENCH", TON.ALPHANUMERIC, NPI.UNKNOWN)
    destination = PhoneNumber("447700900123", TON.INTERNATIONAL, NPI.ISDN)
    start = time.perf_counter()
    for _ in range(messages):
        await broker.enqueue(
            SubmitSm(
                short_message="Benchmark message for the SMPP gateway engine.",
                source=source,
                destination=destination,
                registered_delivery=0,
            )
        )
    await counter.done.wait()
    elapsed = time.perf_counter() - start
    await esme.stop()
    runner.cancel()
    return {
        "messages": messages,
        "acked": counter.acked,
        "errors": counter.errors,
        "elapsed_s": elapsed,
        "per_s": counter.acked / elapsed,
    }


if __name__ == "__main__":
    host, port, messages, window = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    print(json.dumps(asyncio.run(run(host, port, messages, window))))
