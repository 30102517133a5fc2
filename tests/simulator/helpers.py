"""A minimal trio ESME on the sans-IO session, and a raw HTTP client, for simulator tests."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

import trio

from smpp_engine.protocol import (
    BindFailed,
    BindReceiver,
    BindTransceiver,
    BindTransmitter,
    Bound,
    ConnectionClosed,
    DeliverSm,
    DeliverSmResp,
    Event,
    Pdu,
    PduStream,
    PeerUnbound,
    ProtocolError,
    RequestReceived,
    RequestTimedOut,
    ResponseReceived,
    Role,
    Session,
    SubmitSm,
    Unbound,
    UnexpectedResponse,
    encode_pdu,
)
from smpp_engine.simulator import Scenario, Simulator

BIND_CLASSES = {
    "transmitter": BindTransmitter,
    "receiver": BindReceiver,
    "transceiver": BindTransceiver,
}


@asynccontextmanager
async def running(
    scenario: Scenario | str | None = None, *, control: bool = False, **kwargs: Any
) -> AsyncIterator[Simulator]:
    """A simulator on a free port for the duration of the block."""
    async with trio.open_nursery() as nursery:
        # The built-in defaults unless told otherwise: tests do not depend on healthy.toml.
        chosen = Scenario() if scenario is None else scenario
        sim = Simulator(chosen, control_port=0 if control else None, **kwargs)
        await nursery.start(sim.run)
        try:
            yield sim
        finally:
            nursery.cancel_scope.cancel()


class Esme:
    """An ESME: sends requests and waits for their responses; collects deliver_sm.

    deliver_sm are answered with ``deliver_status`` (ESME_ROK by default).
    """

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.session = Session(Role.ESME, window_size=1000, enquire_link_interval=None, now=0.0)
        self.session.response_timeout = 3600.0
        self.delivered: list[DeliverSm] = []
        self.errors: list[ProtocolError] = []
        self.unexpected: list[Pdu] = []
        self.events: list[Event] = []
        self.deliver_status = 0
        self.closed = trio.Event()
        self.peer_unbound = trio.Event()
        self._waiters: dict[int, tuple[trio.Event, list[Any]]] = {}
        self._delivered_event = trio.Event()
        self._send_lock = trio.StrictFIFOLock()

    async def _reader(self) -> None:
        try:
            while True:
                try:
                    data = await self.stream.receive_some(65536)
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    data = b""
                self.session.receive_data(data, trio.current_time())
                self._process()
                await self._flush()
                if not data or self.closed.is_set():
                    break
        finally:
            self.closed.set()
            for event, box in self._waiters.values():
                box.append(None)
                event.set()

    def _process(self) -> None:
        while (event := self.session.next_event()) is not None:
            self.events.append(event)
            if isinstance(event, ResponseReceived):
                self._resolve(event.request.sequence_number, event.response)
            elif isinstance(event, Bound):
                assert event.request is not None
                self._resolve(event.request.sequence_number, event)
            elif isinstance(event, BindFailed | RequestTimedOut | Unbound):
                self._resolve(event.request.sequence_number, event)
            elif isinstance(event, RequestReceived) and isinstance(event.pdu, DeliverSm):
                self.delivered.append(event.pdu)
                self.session.send_response(
                    DeliverSmResp(
                        sequence_number=event.pdu.sequence_number,
                        command_status=self.deliver_status,
                    )
                )
                self._delivered_event.set()
            elif isinstance(event, ProtocolError):
                self.errors.append(event)
                self._delivered_event.set()
            elif isinstance(event, UnexpectedResponse):
                self.unexpected.append(event.response)
            elif isinstance(event, PeerUnbound):
                self.peer_unbound.set()
            elif isinstance(event, ConnectionClosed):
                self.closed.set()

    def _resolve(self, sequence: int, value: Any) -> None:
        waiter = self._waiters.pop(sequence, None)
        if waiter is not None:
            waiter[1].append(value)
            waiter[0].set()

    async def _flush(self) -> None:
        async with self._send_lock:
            data = self.session.data_to_send()
            if data:
                try:
                    await self.stream.send_all(data)
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    self.closed.set()

    async def send(self, pdu: Pdu) -> int:
        """Send a request without waiting; returns its sequence number."""
        inflight = self.session.send_request(pdu, trio.current_time())
        await self._flush()
        return inflight.sequence_number

    async def request(self, pdu: Pdu) -> Any:
        """Send a request and return its response PDU (or the bind event)."""
        inflight = self.session.send_request(pdu, trio.current_time())
        event = trio.Event()
        box: list[Any] = []
        self._waiters[inflight.sequence_number] = (event, box)
        await self._flush()
        await event.wait()
        return box[0]

    async def wait_response(self, sequence: int) -> Any:
        event = trio.Event()
        box: list[Any] = []
        self._waiters[sequence] = (event, box)
        await event.wait()
        return box[0]

    async def bind(
        self, kind: str = "transceiver", system_id: str = "esme", password: str = "pw"
    ) -> Any:
        return await self.request(BIND_CLASSES[kind](system_id=system_id, password=password))

    async def submit(self, **fields: Any) -> Any:
        fields.setdefault("source_addr", "12345")
        fields.setdefault("destination_addr", "447700900001")
        fields.setdefault("short_message", b"hello")
        return await self.request(SubmitSm(**fields))

    async def wait_delivered(self, count: int) -> list[DeliverSm]:
        """Wait until at least ``count`` deliver_sm arrived; returns all of them."""
        while len(self.delivered) < count:
            if self.closed.is_set():
                raise AssertionError(f"closed after {len(self.delivered)} of {count} deliver_sm")
            self._delivered_event = trio.Event()
            with trio.move_on_after(1.0):
                await self._delivered_event.wait()
        return self.delivered

    async def send_raw(self, data: bytes) -> None:
        await self.stream.send_all(data)


@asynccontextmanager
async def connect(port: int) -> AsyncIterator[Esme]:
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    esme = Esme(stream)
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(esme._reader)
            try:
                yield esme
            finally:
                nursery.cancel_scope.cancel()
    finally:
        # Outside the cancelled nursery: a Cancelled raised here would replace the
        # test's own exception and be swallowed by the nursery.
        await trio.aclose_forcefully(stream)


@asynccontextmanager
async def bound(
    port: int, kind: str = "transceiver", system_id: str = "esme", password: str = "pw"
) -> AsyncIterator[Esme]:
    async with connect(port) as esme:
        result = await esme.bind(kind, system_id, password)
        assert isinstance(result, Bound), result
        yield esme


async def http(
    port: int,
    method: str,
    path: str,
    body: Any = None,
    *,
    raw: bytes | None = None,
    token: str | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    """One HTTP/1.1 request over trio; returns (status, JSON body or text).

    Sends ``Host: 127.0.0.1:PORT`` and ``Content-Type: application/json``, and
    ``Authorization: Bearer TOKEN`` with ``token``; ``headers`` add to them or
    replace them (an empty value leaves the header out).
    """
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    payload = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
    fields = {
        "Host": f"127.0.0.1:{port}",
        "Connection": "close",
        "Content-Type": "application/json",
        "Content-Length": str(len(payload)),
    }
    if token is not None:
        fields["Authorization"] = f"Bearer {token}"
    fields.update(headers or {})
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(
        f"{name}: {value}\r\n" for name, value in fields.items() if value
    )
    async with stream:
        # Answered and closed before the whole body was read: the answer still counts.
        with suppress(trio.BrokenResourceError):
            await stream.send_all(head.encode("latin-1") + b"\r\n" + payload)
        chunks = []
        try:
            while chunk := await stream.receive_some(65536):
                chunks.append(chunk)
        except trio.BrokenResourceError:  # reset after the answer
            pass
    response = b"".join(chunks)
    header, _, content = response.partition(b"\r\n\r\n")
    status = int(header.split(b" ", 2)[1])
    if b"chunked" in header.lower():
        content = _unchunk(content)
    if b"application/json" in header.lower():
        return status, json.loads(content)
    return status, content.decode()


def _unchunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, rest = data.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            break
        out += rest[:size]
        data = rest[size + 2 :]
    return out


class RawClient:
    """PDUs over a socket with no session: for wire order and for what a session refuses."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.decoder = PduStream()
        self.received: list[Pdu] = []
        self._sequence = 0

    async def send(self, *pdus: Pdu) -> None:
        for pdu in pdus:
            if not pdu.sequence_number:
                self._sequence += 1
                pdu.sequence_number = self._sequence
        await self.stream.send_all(b"".join(encode_pdu(pdu) for pdu in pdus))

    async def receive(self, count: int) -> list[Pdu]:
        """The next ``count`` PDUs (deliver_sm are not answered)."""
        out: list[Pdu] = []
        while len(out) < count:
            pdu = self.decoder.next_pdu()
            if pdu is not None:
                out.append(pdu)
                continue
            data = await self.stream.receive_some(65536)
            if not data:
                raise AssertionError(f"closed after {len(out)} of {count} PDUs: {out}")
            self.decoder.feed(data)
        self.received += out
        return out

    async def receive_data(self) -> bytes:
        return await self.stream.receive_some(65536)


@asynccontextmanager
async def raw(
    port: int, bind: str | None = "transceiver", system_id: str = "raw"
) -> AsyncIterator[RawClient]:
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    client = RawClient(stream)
    try:
        if bind is not None:
            await client.send(BIND_CLASSES[bind](system_id=system_id, password="pw"))
            (response,) = await client.receive(1)
            assert response.command_status == 0, response
        yield client
    finally:
        await trio.aclose_forcefully(stream)
