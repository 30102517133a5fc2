"""A scriptable test SMSC on 127.0.0.1, built on the sans-IO Session(Role.SMSC) and trio.

Each test sets the behaviour it needs: which binds to accept, how to answer
submits (a status, or hold them to answer by hand later), when to send
deliver_sm / receipts / unbind / garbage, and when to drop or go mute.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Callable, Iterator, MutableMapping
from datetime import datetime
from typing import Any

import pytest
import structlog
import trio
import trio.testing
from prometheus_client import REGISTRY

from smpp_engine.esme import EsmeConfig, ReconnectPolicy
from smpp_engine.protocol import (
    CommandStatus,
    DeliverSm,
    MessageState,
    Pdu,
    PduError,
    PduStream,
    Receipt,
    RequestReceived,
    ResponseReceived,
    Role,
    Session,
    SessionState,
    SubmitSm,
    format_receipt_text,
    receipt_tlvs,
)

PASSWORD = "secret"
SYSTEM_ID = "esme1"

#: How the SMSC answers a submit: a command_status, or None to hold it unanswered.
SubmitPolicy = Callable[["SmscLink", SubmitSm], int | None]


class SmscLink:
    """One accepted connection at the test SMSC."""

    def __init__(self, smsc: FakeSmsc, stream: trio.abc.Stream) -> None:
        self.smsc = smsc
        self.stream = stream
        self.session = Session(
            Role.SMSC,
            window_size=100,
            response_timeout=smsc.response_timeout,
            enquire_link_interval=None,
            now=trio.current_time(),
        )
        self.requests: list[tuple[float, Pdu]] = []  # (time, pdu) of the requests for us
        self.wire: list[tuple[float, Pdu]] = []  # (time, pdu) of every PDU read, keep-alives too
        self._wire = PduStream()
        self.held: list[SubmitSm] = []
        self.responses: list[Pdu] = []  # answers to our deliver_sm etc.
        self.muted = False
        self.closed = False
        self._changed = trio.Event()
        self._cancel = trio.CancelScope()
        self._send_lock = trio.Lock()

    # --- what the link saw ---------------------------------------------------------

    def received(self, cls: type[Pdu]) -> list[Pdu]:
        """Every PDU of ``cls`` read, including those the session answers by itself."""
        return [pdu for _, pdu in self.wire if isinstance(pdu, cls)]

    @property
    def submits(self) -> list[SubmitSm]:
        return [pdu for _, pdu in self.requests if isinstance(pdu, SubmitSm)]

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        while not predicate():
            await self._changed.wait()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = trio.Event()
        self.smsc._notify()

    # --- scripting -----------------------------------------------------------------

    async def flush(self) -> None:
        async with self._send_lock:
            data = self.session.data_to_send()
            if data and not self.closed:
                try:
                    await self.stream.send_all(data)
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    self.closed = True

    async def answer(
        self,
        pdu: Pdu,
        status: int = 0,
        message_id: str | None = None,
        tlvs: dict[int, Any] | None = None,
    ) -> None:
        """Answer a held submit (or any request) now, with ``tlvs`` if given."""
        if pdu in self.held:
            self.held.remove(pdu)
        fields: dict[str, Any] = {}
        if status == 0 and isinstance(pdu, SubmitSm):
            fields["message_id"] = message_id or self.smsc.next_message_id()
        if tlvs:
            fields["tlvs"] = tlvs
        self.session.respond(pdu, status, **fields)
        await self.flush()

    async def deliver(self, pdu: Pdu) -> None:
        """Send a deliver_sm; its response lands in ``responses``."""
        self.session.send_request(pdu, trio.current_time())
        await self.flush()

    async def send_receipt(
        self, message_id: str, state: MessageState = MessageState.DELIVERED, **fields: Any
    ) -> None:
        await self.deliver(receipt_pdu(message_id, state, **fields))

    async def unbind(self) -> None:
        self.session.unbind(trio.current_time())
        await self.flush()

    async def send_raw(self, data: bytes) -> None:
        async with self._send_lock:
            await self.stream.send_all(data)

    async def drop(self) -> None:
        """Close the TCP connection without a word."""
        self.closed = True
        self._cancel.cancel()
        await trio.aclose_forcefully(self.stream)
        self._notify()

    def mute(self) -> None:
        """Stop reading and answering, keep the connection open (a hung SMSC)."""
        self.muted = True

    # --- the connection task -------------------------------------------------------

    async def run(self) -> None:
        with self._cancel:
            try:
                while not self.muted:
                    try:
                        data = await self.stream.receive_some(65536)
                    except (trio.BrokenResourceError, trio.ClosedResourceError):
                        data = b""
                    if self._is_muted():
                        break
                    now = trio.current_time()
                    self._record(bytes(data), now)
                    self.session.receive_data(bytes(data), now)
                    for event in self.session.events():
                        await self._on_event(event, now)
                    await self.flush()
                    self._notify()
                    if not data or self.session.state in (
                        SessionState.CLOSED,
                        SessionState.UNBOUND,
                    ):
                        break
                if self.muted:
                    await trio.sleep_forever()
            finally:
                self.closed = True
                self._notify()
                await trio.aclose_forcefully(self.stream)

    def _is_muted(self) -> bool:
        return self.muted  # may change while the reader waits

    def _record(self, data: bytes, now: float) -> None:
        self._wire.feed(data)
        while True:
            try:
                pdu = self._wire.next_pdu()
            except PduError:
                continue
            if pdu is None:
                return
            self.wire.append((now, pdu))

    async def _on_event(self, event: object, now: float) -> None:
        smsc = self.smsc
        if isinstance(event, RequestReceived):
            pdu = event.pdu
            self.requests.append((now, pdu))
            if pdu.command_id in (0x1, 0x2, 0x9):  # binds
                smsc.bind_attempts.append(pdu)
                status = smsc.bind_status(pdu)
                if status is not None:  # None: leave the bind unanswered
                    self.session.respond(pdu, status, system_id=smsc.system_id)
                if status == 0:
                    smsc.bound_links.append(self)
            elif isinstance(pdu, SubmitSm):
                status = smsc.on_submit(self, pdu)
                if status is None:
                    self.held.append(pdu)
                elif status != 0:
                    self.session.respond(pdu, status)
                elif smsc.auto_receipt is None:
                    self.session.respond(pdu, 0, message_id=smsc.next_message_id())
                else:
                    await self._accept_with_receipt(pdu, smsc.auto_receipt)
            else:
                self.session.respond(pdu, 0)
        elif isinstance(event, ResponseReceived):
            self.responses.append(event.response)

    async def _accept_with_receipt(self, pdu: SubmitSm, state: MessageState) -> None:
        smsc = self.smsc
        message_id = smsc.next_message_id()
        target = smsc.receiver_for(self)
        if smsc.receipts_first:
            # The receipt goes out, is answered, and only then the submit_sm_resp:
            # the ESME must hold the receipt until the response lands.
            self.held.append(pdu)
            assert smsc.nursery is not None
            smsc.nursery.start_soon(self._receipt_then_answer, target, pdu, message_id, state)
            return
        self.session.respond(pdu, 0, message_id=message_id)
        if target is not None:
            target.session.send_request(receipt_pdu(message_id, state), trio.current_time())
            if target is not self:
                await target.flush()

    async def _receipt_then_answer(
        self, target: SmscLink | None, pdu: SubmitSm, message_id: str, state: MessageState
    ) -> None:
        if target is not None:
            answered = len(target.responses)
            await target.deliver(receipt_pdu(message_id, state))
            await target.wait_until(lambda: len(target.responses) > answered)
            await trio.sleep(0.5)
        await self.answer(pdu, 0, message_id)


def receipt_pdu(
    message_id: str, state: MessageState = MessageState.DELIVERED, **fields: Any
) -> DeliverSm:
    receipt = Receipt(
        message_id=message_id,
        state=state,
        error="000",
        submitted=1,
        delivered=1 if state is MessageState.DELIVERED else 0,
        submit_date=datetime(2024, 5, 1, 12, 0),
        done_date=datetime(2024, 5, 1, 12, 1),
        text="hello",
    )
    return DeliverSm(
        source_addr="447700900123",
        destination_addr="ACME",
        esm_class=0x04,
        short_message=format_receipt_text(receipt),
        tlvs=receipt_tlvs(receipt),
        **fields,
    )


class FakeSmsc:
    """The listening side. ``password``, ``bind_status``, ``on_submit`` and
    ``auto_receipt`` may be changed while it runs."""

    def __init__(
        self,
        *,
        port: int = 0,
        system_id: str = "FAKESMSC",
        password: str = PASSWORD,
        tls: ssl.SSLContext | None = None,
        response_timeout: float = 30.0,
    ) -> None:
        self.port = port
        self.system_id = system_id
        self.password = password
        self.tls = tls
        self.response_timeout = response_timeout
        self.on_submit: SubmitPolicy = lambda link, pdu: 0
        self.auto_receipt: MessageState | None = None
        self.receipts_first = False
        self.links: list[SmscLink] = []
        self.bound_links: list[SmscLink] = []
        self.bind_attempts: list[Pdu] = []
        self.connections = 0
        self._message_ids = 0
        self._changed = trio.Event()
        self._listeners: list[trio.SocketListener] = []
        self.nursery: trio.Nursery | None = None

    def bind_status(self, pdu: Pdu) -> int | None:
        if getattr(pdu, "system_id", None) != SYSTEM_ID:
            return CommandStatus.ESME_RINVSYSID
        if getattr(pdu, "password", None) != self.password:
            return CommandStatus.ESME_RINVPASWD
        return 0

    def receiver_for(self, link: SmscLink) -> SmscLink | None:
        """The link receipts for ``link``'s submits go to (itself, unless it is a transmitter)."""
        receiving = (SessionState.BOUND_RX, SessionState.BOUND_TRX)
        if link.session.state in receiving:
            return link
        for other in self.bound_links:
            if not other.closed and other.session.state in receiving:
                return other
        return None

    def next_message_id(self) -> str:
        self._message_ids += 1
        return f"M{self._message_ids:06d}"

    def _notify(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        while not predicate():
            await self._changed.wait()

    async def wait_bound(self, count: int = 1) -> SmscLink:
        """The ``count``-th link that bound."""
        await self.wait_until(lambda: len(self.bound_links) >= count)
        return self.bound_links[count - 1]

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        listeners = await trio.open_tcp_listeners(self.port, host="127.0.0.1")
        self._listeners = listeners
        self.port = listeners[0].socket.getsockname()[1]
        async with trio.open_nursery() as nursery:
            self.nursery = nursery
            task_status.started()
            await trio.serve_listeners(self._handle, listeners, handler_nursery=nursery)

    async def stop(self) -> None:
        for listener in self._listeners:
            await listener.aclose()
        for link in self.links:
            if not link.closed:
                await link.drop()

    async def _handle(self, tcp: trio.SocketStream) -> None:
        self.connections += 1
        stream: trio.abc.Stream = tcp
        if self.tls is not None:
            tls_stream = trio.SSLStream(tcp, self.tls, server_side=True)
            try:
                await tls_stream.do_handshake()
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                await trio.aclose_forcefully(tcp)
                self._notify()
                return
            stream = tls_stream
        link = SmscLink(self, stream)
        self.links.append(link)
        self._notify()
        await link.run()


def make_config(smsc: FakeSmsc, **overrides: Any) -> EsmeConfig:
    fields: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": smsc.port,
        "system_id": SYSTEM_ID,
        "password": PASSWORD,
        "name": "test",
        "window_size": 10,
        "response_timeout": 10.0,
        "enquire_link_interval": 60.0,
        "reconnect": ReconnectPolicy(
            min_delay=1.0, max_delay=8.0, jitter=0.0, bind_failure_min_delay=10.0
        ),
    }
    fields.update(overrides)
    return EsmeConfig(**fields)


@pytest.fixture
async def watchdog(nursery: trio.Nursery) -> None:
    """Fail a test that hangs instead of letting it block the run (under the autojump
    clock the hang is reached at once, in virtual time)."""
    mock = isinstance(trio.lowlevel.current_clock(), trio.testing.MockClock)
    limit = 3600.0 if mock else 60.0

    async def bark() -> None:
        await trio.sleep(limit)
        raise TimeoutError(f"test still running after {limit:g} s: something hangs")

    nursery.start_soon(bark)


@pytest.fixture
async def smsc(nursery: trio.Nursery, watchdog: None) -> AsyncIterator[FakeSmsc]:
    server = FakeSmsc()
    await nursery.start(server.serve)
    yield server


async def until(predicate: Callable[[], bool]) -> None:
    """Wait for a condition on the client side (nothing wakes us for it: poll)."""
    while not predicate():
        await trio.sleep(0.001)


def metric(name: str, **labels: str) -> float:
    """A sample of the global registry (0 when it has not been created yet)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def logs() -> Iterator[list[MutableMapping[str, Any]]]:
    with structlog.testing.capture_logs() as captured:
        yield captured
