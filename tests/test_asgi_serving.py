"""serve_asgi reports the port it got, and an address it cannot bind as a ListenError naming it."""

from __future__ import annotations

import errno
import socket

import pytest
import trio
from starlette.applications import Starlette

from smpp_engine.asgi_serving import ListenError, serve_asgi


async def test_a_free_port_is_reported_and_served() -> None:
    async with trio.open_nursery() as nursery:
        port = await nursery.start(lambda task_status: serve_asgi(
            Starlette(), host="127.0.0.1", port=0, task_status=task_status
        ))  # fmt: skip
        assert port > 0
        nursery.cancel_scope.cancel()


async def test_a_port_in_use_is_a_listen_error_naming_the_address() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        with pytest.raises(ListenError) as raised:
            await serve_asgi(Starlette(), host="127.0.0.1", port=taken)
    error = raised.value
    assert (error.host, error.port, error.errno) == ("127.0.0.1", taken, errno.EADDRINUSE)
    assert str(error) == f"cannot listen on 127.0.0.1:{taken}: Address already in use"
