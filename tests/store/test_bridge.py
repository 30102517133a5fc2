"""The trio -> asyncio bridge: results, exceptions and cancellation cross; one loop thread."""

from __future__ import annotations

import asyncio
import threading

import pytest
import trio
import trio.testing
import uvloop

from smpp_engine.store.bridge import (
    AsyncioBridge,
    BridgeCancelledError,
    BridgeClosedError,
    open_bridge,
)


async def _double(value: int) -> int:
    await asyncio.sleep(0)
    return value * 2


async def test_result_and_arguments_cross() -> None:
    async with open_bridge() as bridge:
        assert await bridge.call(_double, 21) == 42


async def test_the_loop_is_uvloop_in_its_own_thread() -> None:
    async def where() -> tuple[type[asyncio.AbstractEventLoop], int]:
        return type(asyncio.get_running_loop()), threading.get_ident()

    async with open_bridge() as bridge:
        loop_type, ident = await bridge.call(where)
    assert issubclass(loop_type, uvloop.Loop)
    assert ident != threading.get_ident()


async def test_exception_from_the_coroutine_is_raised_in_trio() -> None:
    async def fail(message: str) -> None:
        await asyncio.sleep(0)
        raise ValueError(message)

    async with open_bridge() as bridge:
        with pytest.raises(ValueError, match="from asyncio"):
            await bridge.call(fail, "from asyncio")


async def test_exception_raised_before_the_coroutine_exists_is_raised_in_trio() -> None:
    def broken() -> asyncio.Future[None]:
        raise KeyError("no coroutine")

    async with open_bridge() as bridge:
        with pytest.raises(KeyError):
            await bridge.call(broken)  # type: ignore[arg-type]


async def test_cancelled_on_the_asyncio_side_raises_bridge_cancelled() -> None:
    async def cancel_myself() -> None:
        task = asyncio.current_task()
        assert task is not None
        task.cancel()
        await asyncio.sleep(0)

    async with open_bridge() as bridge:
        with pytest.raises(BridgeCancelledError):
            await bridge.call(cancel_myself)
        # The bridge still works after that.
        assert await bridge.call(_double, 1) == 2


class _Probe:
    """asyncio events, created and awaited on the bridge's loop, to sequence a test."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.cancelled = asyncio.Event()
        self.release_cleanup = asyncio.Event()
        self.cleanup_done = asyncio.Event()

    async def work(self) -> str:
        self.started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled.set()
            # Cleanup that takes a while (an asyncpg rollback): the trio caller
            # must not wait for it.
            await self.release_cleanup.wait()
            self.cleanup_done.set()
            raise
        return "never"


async def _new_probe() -> _Probe:
    return _Probe()


async def test_cancelling_the_trio_caller_cancels_the_asyncio_task_and_returns_at_once() -> None:
    async with open_bridge() as bridge:
        probe = await bridge.call(_new_probe)
        outcome: list[str] = []

        async def caller(task_status: trio.TaskStatus[trio.CancelScope]) -> None:
            with trio.CancelScope() as scope:
                task_status.started(scope)
                outcome.append(await bridge.call(probe.work))
            outcome.append("cancelled" if scope.cancelled_caught else "not cancelled")

        async with trio.open_nursery() as nursery:
            scope = await nursery.start(caller)
            await bridge.call(probe.started.wait)
            scope.cancel()
        # The trio caller is back while the asyncio task is still in its cleanup.
        assert outcome == ["cancelled"]
        with trio.fail_after(30):  # not a timing check: a broken bridge would hang here
            await bridge.call(probe.cancelled.wait)
        assert not probe.cleanup_done.is_set()
        await bridge.call(_set_from_loop, probe.release_cleanup)
        await bridge.call(probe.cleanup_done.wait)


async def _set_from_loop(event: asyncio.Event) -> None:
    event.set()


async def test_an_already_cancelled_caller_schedules_nothing() -> None:
    started = threading.Event()

    async def mark() -> None:
        started.set()

    async with open_bridge() as bridge:
        with trio.CancelScope() as scope:
            scope.cancel()
            await bridge.call(mark)
        assert scope.cancelled_caught
        await bridge.call(_double, 0)  # anything scheduled before this has run by now
    assert not started.is_set()


async def test_many_concurrent_calls_run_on_one_loop_thread() -> None:
    idents: set[int] = set()
    results: dict[int, int] = {}

    async def work(value: int) -> int:
        idents.add(threading.get_ident())
        await asyncio.sleep(0)
        return value * 2

    async def one(bridge: AsyncioBridge, value: int) -> None:
        results[value] = await bridge.call(work, value)

    threads_before = threading.active_count()
    async with open_bridge() as bridge, trio.open_nursery() as nursery:
        for value in range(2000):
            nursery.start_soon(one, bridge, value)
        await trio.testing.wait_all_tasks_blocked()
        assert threading.active_count() == threads_before + 1
    assert results == {value: value * 2 for value in range(2000)}
    assert len(idents) == 1
    assert threading.get_ident() not in idents


async def test_stopping_with_calls_in_flight_answers_them_and_joins_the_thread() -> None:
    errors: list[BaseException] = []

    async def caller(bridge: AsyncioBridge, probe: _Probe) -> None:
        try:
            await bridge.call(probe.work)
        except BridgeCancelledError as exc:
            errors.append(exc)

    async with trio.open_nursery() as nursery, open_bridge() as bridge:
        probes = [await bridge.call(_new_probe) for _ in range(5)]
        for probe in probes:
            nursery.start_soon(caller, bridge, probe)
        for probe in probes:
            await bridge.call(probe.started.wait)
            # Let each cleanup finish as soon as the stop cancels it.
            await bridge.call(_set_from_loop, probe.release_cleanup)
    assert len(errors) == 5
    assert not bridge._thread.is_alive()
    assert all(probe.cleanup_done.is_set() for probe in probes)
    with pytest.raises(BridgeClosedError):
        await bridge.call(_double, 1)


async def test_a_task_that_ignores_cancellation_does_not_hold_the_stop_for_ever() -> None:
    errors: list[BaseException] = []

    async def stubborn(started: asyncio.Event) -> None:
        started.set()
        while True:
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                continue

    async def new_event() -> asyncio.Event:
        return asyncio.Event()

    async def caller(bridge: AsyncioBridge, started: asyncio.Event) -> None:
        try:
            await bridge.call(stubborn, started)
        except BridgeCancelledError as exc:
            errors.append(exc)

    async with trio.open_nursery() as nursery, open_bridge(stop_grace=0.01) as bridge:
        started = await bridge.call(new_event)
        nursery.start_soon(caller, bridge, started)
        await bridge.call(started.wait)
    assert len(errors) == 1
    assert not bridge._thread.is_alive()


async def test_stop_from_a_cancelled_scope_still_joins_the_thread() -> None:
    with trio.CancelScope() as scope:
        async with open_bridge() as bridge:
            scope.cancel()
            await trio.sleep_forever()
    assert scope.cancelled_caught
    assert not bridge._thread.is_alive()


async def test_a_bridge_not_started_refuses_calls_and_closes() -> None:
    bridge = AsyncioBridge()
    with pytest.raises(BridgeClosedError):
        await bridge.call(_double, 1)
    await bridge.aclose()
    await bridge.aclose()
