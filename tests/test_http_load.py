"""B6's lean HTTP load client against a real HTTP/1.1 server on loopback (h11 on trio)."""

from __future__ import annotations

from functools import partial

import h11
import trio

from benchmarks.http_load import HttpConnection


async def _serve(
    stream: trio.SocketStream, *, chunked: bool, close: bool, seen: list[tuple[str, bytes]]
) -> None:
    """Answer every request 201 with a body echoing its length; chunked or with
    Content-Length; closing the connection after each answer when ``close``."""
    connection = h11.Connection(h11.SERVER)
    body = b""
    while True:
        event = connection.next_event()
        if event is h11.NEED_DATA:
            data = await stream.receive_some(65536)
            if not data:
                return
            connection.receive_data(data)
        elif isinstance(event, h11.Request):
            target = event.target.decode()
            body = b""
        elif isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage):
            seen.append((target, body))
            answer = f'{{"length": {len(body)}}}'.encode()
            headers = [("content-type", "application/json")]
            headers.append(
                ("transfer-encoding", "chunked")
                if chunked
                else ("content-length", str(len(answer)))
            )
            if close:
                headers.append(("connection", "close"))
            out = connection.send(h11.Response(status_code=201 if body else 202, headers=headers))
            if chunked:
                out += connection.send(h11.Data(data=answer[:3])) + connection.send(
                    h11.Data(data=answer[3:])
                )
            else:
                out += connection.send(h11.Data(data=answer))
            out += connection.send(h11.EndOfMessage())
            await stream.send_all(out)
            if close:
                await stream.aclose()
                return
            connection.start_next_cycle()
        else:
            return


async def _exchange(*, chunked: bool, close: bool) -> tuple[list[int], list[tuple[str, bytes]]]:
    seen: list[tuple[str, bytes]] = []
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(
            partial(
                trio.serve_tcp,
                lambda s: _serve(s, chunked=chunked, close=close, seen=seen),
                0,
                host="127.0.0.1",
            )
        )
        port = listeners[0].socket.getsockname()[1]
        client = HttpConnection("127.0.0.1", port, {"X-API-Key": "k"})
        statuses = [
            await client.request("POST", "/v1/messages", b'{"to": "1"}', "application/json"),
            await client.request("GET", "/cgi-bin/sendsms?to=2"),
            await client.request("POST", "/v1/messages", b"x" * 70_000, "application/json"),
        ]
        await client.aclose()
        nursery.cancel_scope.cancel()
    return statuses, seen


async def test_requests_on_one_kept_alive_connection() -> None:
    statuses, seen = await _exchange(chunked=False, close=False)
    assert statuses == [201, 202, 201]
    assert seen == [
        ("/v1/messages", b'{"to": "1"}'),
        ("/cgi-bin/sendsms?to=2", b""),
        ("/v1/messages", b"x" * 70_000),
    ]


async def test_chunked_answers_are_read_to_their_end() -> None:
    statuses, seen = await _exchange(chunked=True, close=False)
    assert statuses == [201, 202, 201] and len(seen) == 3


async def test_a_server_closing_after_each_answer_gets_a_new_connection() -> None:
    statuses, seen = await _exchange(chunked=False, close=True)
    assert statuses == [201, 202, 201] and len(seen) == 3
