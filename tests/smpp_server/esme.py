"""A raw ESME for the tests: the project's sans-IO session over a trio TCP stream."""

from __future__ import annotations

import trio

from smpp_engine.protocol import (
    BindFailed,
    BindReceiver,
    BindTransceiver,
    BindTransmitter,
    Bound,
    ConnectionClosed,
    DeliverSm,
    Event,
    Pdu,
    RequestReceived,
    ResponseReceived,
    Role,
    Session,
    UnexpectedResponse,
    encode_pdu,
)


class RawEsme:
    """Requests out, their responses and the server's requests in, one event at a time."""

    def __init__(self, stream: trio.abc.Stream) -> None:
        self.stream = stream
        self.session = Session(
            Role.ESME, window_size=1000, enquire_link_interval=None, now=trio.current_time()
        )
        self.events: list[Event] = []
        self.closed = False
        self.auto_answer = True
        #: The statuses our next deliver_sm_resp carry, first first (then ESME_ROK).
        self.deliver_statuses: list[int] = []

    @classmethod
    async def connect(cls, port: int) -> RawEsme:
        return cls(await trio.open_tcp_stream("127.0.0.1", port))

    async def flush(self) -> None:
        data = self.session.data_to_send()
        if data:
            await self.stream.send_all(data)

    async def send(self, pdu: Pdu) -> int:
        inflight = self.session.send_request(pdu, trio.current_time())
        await self.flush()
        return inflight.sequence_number

    async def send_raw(self, data: bytes) -> None:
        await self.stream.send_all(data)

    async def _pump(self) -> None:
        """Read once; collect the events (answering deliver_sm with ESME_ROK if asked)."""
        try:
            data = await self.stream.receive_some(65536)
        except trio.BrokenResourceError:
            data = b""
        self.session.receive_data(data, trio.current_time())
        for event in self.session.events():
            if isinstance(event, ConnectionClosed):
                self.closed = True
            if (
                self.auto_answer
                and isinstance(event, RequestReceived)
                and isinstance(event.pdu, DeliverSm)
            ):
                status = self.deliver_statuses.pop(0) if self.deliver_statuses else 0
                self.session.respond(event.pdu, status)
            self.events.append(event)
        await self.flush()

    async def wait_for(self, predicate: object, timeout: float = 30) -> Event:
        """The first collected event ``predicate`` accepts (it is taken out)."""
        assert callable(predicate)
        with trio.fail_after(timeout):
            while True:
                for event in self.events:
                    if predicate(event):
                        self.events.remove(event)
                        return event
                if self.closed:
                    raise EOFError("connection closed")
                await self._pump()

    async def response(self, sequence: int) -> Pdu:
        """The response to our request ``sequence``."""
        event = await self.wait_for(
            lambda e: isinstance(e, ResponseReceived) and e.request.sequence_number == sequence
        )
        assert isinstance(event, ResponseReceived)
        return event.response

    async def bind(
        self, kind: str = "transceiver", system_id: str = "acme1", password: str = "secret1"
    ) -> int:
        cls = {
            "transmitter": BindTransmitter,
            "receiver": BindReceiver,
            "transceiver": BindTransceiver,
        }[kind]
        sequence = await self.send(
            cls(system_id=system_id, password=password, interface_version=0x34)
        )
        event = await self.wait_for(
            lambda e: (
                isinstance(e, Bound | BindFailed)
                and e.request is not None
                and e.request.sequence_number == sequence
            )
        )
        return event.status if isinstance(event, BindFailed) else 0

    async def send_raw_bind(self, pdu: Pdu) -> int:
        """Send a bind past our own session's checks; the status of its answer."""
        pdu.sequence_number = 0x7000
        await self.stream.send_all(encode_pdu(pdu))
        event = await self.wait_for(
            lambda e: isinstance(e, UnexpectedResponse) and e.response.sequence_number == 0x7000
        )
        assert isinstance(event, UnexpectedResponse)
        return event.response.command_status

    async def closed_by_peer(self, timeout: float = 30) -> None:
        with trio.fail_after(timeout):
            while not self.closed:
                await self._pump()

    async def aclose(self) -> None:
        await self.stream.aclose()
