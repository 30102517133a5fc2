"""Several supervised binds to one SMSC account, sharing the load.

A request goes to the next bind in turn that is bound, has a free window slot
and is not paused by throttling; when none is, it waits until one is. The binds
share one rate controller by default: an operator's TPS limit is per account.
"""

from __future__ import annotations

import math
import random
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import trio

from throttling import RateController

from ..protocol import Pdu
from ._nurseries import open_unwrapping_nursery
from .bind import Bind, build_request
from .config import EsmeConfig
from .errors import NotBoundError
from .inbound import Inbound, InboundSink
from .outcomes import OutcomeSink, SubmitOutcome
from .supervisor import SupervisedBind

__all__ = ["BindPool", "open_pool"]


class BindPool:
    """Spreads requests over ``members``; all of them must share ``room_signal``."""

    def __init__(
        self, members: Sequence[SupervisedBind], room_signal: trio.lowlevel.ParkingLot
    ) -> None:
        if not members:
            raise ValueError("a pool needs at least one bind")
        self.members = tuple(members)
        self._signal = room_signal
        self._next = 0
        self._bind_wait_timeout = max(m.config.bind_wait_timeout for m in members)

    @property
    def bound(self) -> int:
        """How many members are bound now."""
        return sum(1 for m in self.members if m.is_bound)

    async def send(
        self, pdu: Pdu, context: Any = None, *, segments: int = 1, timeout: float | None = None
    ) -> None:
        """:meth:`Bind.send` on the next ready member; waits while none is ready."""
        while True:
            bind = self._pick()
            if bind is None:
                await self._wait_for_room()
                continue
            try:
                await bind.send(pdu, context, segments=segments, timeout=timeout)
                return
            except NotBoundError:
                continue  # that link dropped before taking it: nothing was sent

    def try_send(
        self, pdu: Pdu, context: Any = None, *, segments: int = 1, timeout: float | None = None
    ) -> Bind | None:
        """:meth:`Bind.try_send` on the next ready member: the bind that took ``pdu``.

        None, with nothing sent, when no member can take it without waiting
        (:meth:`send` would wait). The caller awaits the bind's :meth:`Bind.pace`.
        """
        bind = self._pick()
        if bind is not None and bind.try_send(pdu, context, segments=segments, timeout=timeout):
            return bind
        return None

    async def submit(
        self,
        pdu: Pdu | None = None,
        *,
        segments: int = 1,
        timeout: float | None = None,
        **fields: Any,
    ) -> SubmitOutcome:
        """:meth:`Bind.submit` on the next ready member; waits while none is ready."""
        request = build_request(pdu, fields)
        while True:
            bind = self._pick()
            if bind is None:
                await self._wait_for_room()
                continue
            try:
                return await bind.submit(request, segments=segments, timeout=timeout)
            except NotBoundError:
                continue

    async def aclose(self) -> None:
        """Unbind every member gracefully."""
        async with trio.open_nursery() as nursery:
            for member in self.members:
                nursery.start_soon(member.aclose)

    def _pick(self) -> Bind | None:
        members = self.members
        count = len(members)
        start = self._next
        for offset in range(count):
            index = (start + offset) % count
            bind = members[index].bind
            if bind is not None and bind.ready:
                self._next = (index + 1) % count
                return bind
        return None

    async def _wait_for_room(self) -> None:
        bound = [m.bind for m in self.members if m.is_bound]
        if not bound:
            with trio.move_on_after(self._bind_wait_timeout) as scope:
                await self._signal.park()
            if scope.cancelled_caught:
                raise NotBoundError("pool", f"no member bound within {self._bind_wait_timeout:g} s")
            return
        # Freed slots and new links unpark the signal; the end of a throttling pause
        # is no event, so wake up for it too.
        now = trio.current_time()
        resume = min(
            (b.paused_until for b in bound if b is not None and b.paused_until > now),
            default=math.inf,
        )
        with trio.move_on_at(resume):
            await self._signal.park()


@asynccontextmanager
async def open_pool(
    config: EsmeConfig,
    size: int,
    *,
    controller: RateController | None = None,
    on_outcomes: OutcomeSink | None = None,
    inbound: trio.MemorySendChannel[Inbound] | None = None,
    on_inbound: InboundSink | None = None,
    rng: random.Random | None = None,
) -> AsyncIterator[BindPool]:
    """``size`` supervised binds with ``config``'s credentials, named ``<name>-1``...

    They share ``controller`` (the account's rate), the outcome sink and the
    inbound channel or sink. Yields at once; requests wait for a bound member. A normal
    exit drains and unbinds every member.
    """
    if size < 1:
        raise ValueError(f"pool size must be at least 1, not {size}")
    signal = trio.lowlevel.ParkingLot()
    rng = rng or random.Random()
    members = [
        SupervisedBind(
            replace(config, name=f"{config.name}-{index}"),
            controller=controller,
            on_outcomes=on_outcomes,
            inbound=inbound,
            on_inbound=on_inbound,
            room_signal=signal,
            rng=rng,
        )
        for index in range(1, size + 1)
    ]
    pool = BindPool(members, signal)
    async with open_unwrapping_nursery() as nursery:
        for member in members:
            nursery.start_soon(member.run)
        finished = False
        try:
            yield pool
            finished = True
        finally:
            if finished:
                with trio.CancelScope(shield=True):
                    await pool.aclose()
            nursery.cancel_scope.cancel()
