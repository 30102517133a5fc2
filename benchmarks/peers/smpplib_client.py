"""smpplib's blocking client as a load peer: submit with a window, count responses.

Run in its own process: ``python -m benchmarks.peers.smpplib_client HOST PORT
MESSAGES WINDOW`` prints one JSON line with its figures.
"""

from __future__ import annotations

import json
import sys
import time

import smpplib.client
import smpplib.consts


def run(host: str, port: int, messages: int, window: int) -> dict[str, float]:
    client = smpplib.client.Client(host, port, allow_unknown_opt_params=True)
    acked = 0

    def sent(pdu: object) -> None:
        nonlocal acked
        acked += 1

    client.set_message_sent_handler(sent)
    client.connect()
    client.bind_transceiver(system_id="smpplib", password="bench")
    start = time.perf_counter()
    for _ in range(messages):
        client.send_message(
            source_addr_ton=smpplib.consts.SMPP_TON_ALNUM,
            source_addr="BENCH",
            dest_addr_ton=smpplib.consts.SMPP_TON_INTL,
            dest_addr_npi=smpplib.consts.SMPP_NPI_ISDN,
            destination_addr="447700900123",
            short_message=b"Benchmark message for the SMPP gateway engine.",
        )
        sent_so_far = _sent_count(client)
        while sent_so_far - acked >= window:
            client.read_once()
    while acked < messages:
        client.read_once()
    elapsed = time.perf_counter() - start
    client.unbind()
    client.disconnect()
    return {"messages": messages, "acked": acked, "elapsed_s": elapsed, "per_s": acked / elapsed}


def _sent_count(client: smpplib.client.Client) -> int:
    # smpplib keeps no count of outstanding requests; its sequence counter is one.
    return int(client.sequence) - 1  # the bind took sequence 1


if __name__ == "__main__":
    host, port, messages, window = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    print(json.dumps(run(host, port, messages, window)))
