"""A minimal, fast SMPP client for load: pre-encoded submit_sm, headers-only reading.

It does as little per PDU as Python allows (patch the sequence number into a
template, count responses from their headers) so that what it measures is the
peer, not itself. Used by B7 (the simulator alone) and as a ceiling in B2.
"""

from __future__ import annotations

import socket
import struct
import time
from dataclasses import dataclass

from smpp_engine.protocol import (
    BindTransceiver,
    CommandStatus,
    SubmitSm,
    Unbind,
    decode_pdu,
    encode_pdu,
)

_HEADER = struct.Struct(">IIII")
_SUBMIT_SM_RESP = 0x80000004
_DELIVER_SM = 0x00000005
_DELIVER_SM_RESP_BODY = b"\x00"


@dataclass
class BlastResult:
    sent: int
    acked: int
    rejected: int
    receipts: int
    elapsed_s: float

    @property
    def acks_per_s(self) -> float:
        return self.acked / self.elapsed_s if self.elapsed_s else 0.0


def _read_pdu(sock: socket.socket) -> bytes:
    head = _recv_exactly(sock, 4)
    (length,) = struct.unpack(">I", head)
    return head + _recv_exactly(sock, length - 4)


def _recv_exactly(sock: socket.socket, n: int) -> bytes:
    out = bytearray()
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        if not chunk:
            raise ConnectionError("peer closed the connection")
        out += chunk
    return bytes(out)


def bench_submit(registered_delivery: int = 0) -> SubmitSm:
    """The submit_sm every benchmark client sends, so their figures compare."""
    return SubmitSm(
        source_addr_ton=5,
        source_addr="BENCH",
        dest_addr_ton=1,
        dest_addr_npi=1,
        destination_addr="447700900123",
        registered_delivery=registered_delivery,
        short_message=b"Benchmark message for the SMPP gateway engine.",
    )


def blast(
    host: str,
    port: int,
    total: int,
    window: int,
    *,
    system_id: str = "bench",
    password: str = "bench",
    registered_delivery: int = 0,
    wait_receipts: bool = False,
    timeout: float = 120.0,
) -> BlastResult:
    """Bind, keep ``window`` submit_sm outstanding until ``total`` are answered, unbind.

    With ``wait_receipts`` it also answers deliver_sm receipts and waits until one
    per accepted message has arrived.
    """
    sock = socket.create_connection((host, port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.sendall(
        encode_pdu(BindTransceiver(sequence_number=1, system_id=system_id, password=password))
    )
    bind_resp = decode_pdu(_read_pdu(sock))
    if bind_resp.command_status != CommandStatus.ESME_ROK:
        raise ConnectionError(f"bind refused: 0x{bind_resp.command_status:08X}")

    template = bytearray(encode_pdu(bench_submit(registered_delivery)))
    size = len(template)
    batch = bytearray(size * window)
    for i in range(window):
        batch[i * size : (i + 1) * size] = template

    def submits(first_sequence: int, count: int) -> bytes:
        for i in range(count):
            _HEADER.pack_into(batch, i * size, size, 4, 0, first_sequence + i)
        return bytes(batch[: count * size])

    sequence = 2
    start = time.perf_counter()
    first = min(window, total)
    sock.sendall(submits(sequence, first))
    sequence += first
    sent, acked, rejected, receipts = first, 0, 0, 0
    buffer = bytearray()
    replies = bytearray()
    unpack = _HEADER.unpack_from
    while acked + rejected < total or (wait_receipts and receipts < acked):
        chunk = sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError("peer closed the connection")
        buffer += chunk
        offset, end = 0, len(buffer)
        answered = 0
        while end - offset >= 16:
            length, command_id, status, seq = unpack(buffer, offset)
            if end - offset < length:
                break
            if command_id == _SUBMIT_SM_RESP:
                answered += 1
                if status == 0:
                    acked += 1
                else:
                    rejected += 1
            elif command_id == _DELIVER_SM:
                receipts += 1
                replies += _HEADER.pack(17, 0x80000005, 0, seq) + _DELIVER_SM_RESP_BODY
            offset += length
        del buffer[:offset]
        more = min(answered, total - sent)
        if more:
            replies += submits(sequence, more)
            sequence += more
            sent += more
        if replies:
            sock.sendall(replies)
            replies.clear()
    elapsed = time.perf_counter() - start
    sock.sendall(encode_pdu(Unbind(sequence_number=sequence)))
    sock.close()
    return BlastResult(sent, acked, rejected, receipts, elapsed)
