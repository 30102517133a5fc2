"""HTTP receivers for the callback benchmark, in a process of their own: one h11 server
per loopback address (127.0.0.1, 127.0.0.2, ...), all on one port.

python -m benchmarks.callback_receivers --receivers 10 --failing 127.0.0.10

Prints ``{"port": N}`` once listening. Commands on stdin, one a line:
``fail HOST`` (answer 500), ``ok HOST`` (answer 204), ``count`` (print a JSON line of
the 2xx answers given per host). Keep-alive is honoured, so pooled connections are
reused as a real receiver would let them be.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections import Counter

import h11
import trio


class Receivers:
    def __init__(self, failing: set[str]) -> None:
        self.failing = failing
        self.delivered: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()

    async def serve(self, host: str, stream: trio.SocketStream) -> None:
        connection = h11.Connection(h11.SERVER)
        try:
            while True:
                event = connection.next_event()
                if event is h11.NEED_DATA:
                    data = await stream.receive_some(65536)
                    if not data:
                        return
                    connection.receive_data(data)
                    continue
                if isinstance(event, h11.EndOfMessage):
                    failing = host in self.failing
                    (self.refused if failing else self.delivered)[host] += 1
                    response = h11.Response(
                        status_code=500 if failing else 204, headers=[("content-length", "0")]
                    )
                    await stream.send_all(
                        connection.send(response) + connection.send(h11.EndOfMessage())
                    )
                    if connection.our_state is h11.MUST_CLOSE:
                        return
                    connection.start_next_cycle()
                elif isinstance(event, h11.ConnectionClosed):
                    return
        except (trio.BrokenResourceError, trio.ClosedResourceError, h11.RemoteProtocolError):
            return
        finally:
            await stream.aclose()


async def main(receivers: int, failing: set[str]) -> None:
    state = Receivers(failing)
    hosts = [f"127.0.0.{n}" for n in range(1, receivers + 1)]
    async with trio.open_nursery() as nursery:
        port = 0
        for host in hosts:
            listeners = await nursery.start(
                functools.partial(
                    trio.serve_tcp, functools.partial(state.serve, host), port, host=host
                )
            )
            port = listeners[0].socket.getsockname()[1]
        print(json.dumps({"port": port}), flush=True)
        stdin = trio.lowlevel.FdStream(sys.stdin.fileno())
        buffered = b""
        while True:
            data = await stdin.receive_some(4096)
            if not data:
                nursery.cancel_scope.cancel()
                return
            buffered += data
            while b"\n" in buffered:
                line, buffered = buffered.split(b"\n", 1)
                command, _, host = line.decode().strip().partition(" ")
                if command == "fail":
                    state.failing.add(host)
                elif command == "ok":
                    state.failing.discard(host)
                elif command == "count":
                    print(
                        json.dumps({"delivered": state.delivered, "refused": state.refused}),
                        flush=True,
                    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--receivers", type=int, default=10)
    parser.add_argument("--failing", action="append", default=[])
    args = parser.parse_args()
    trio.run(main, args.receivers, set(args.failing))
