"""Single-flight: one task per key, shared by all callers, forgotten once finished."""

from __future__ import annotations

import asyncio

import pytest

from rxcheck.api.singleflight import SingleFlight


async def test_concurrent_calls_share_one_task() -> None:
    flights: SingleFlight[str, int] = SingleFlight()
    calls = 0

    async def work() -> int:
        nonlocal calls
        calls += 1
        number = calls
        await asyncio.sleep(0.05)
        return number

    results = await asyncio.gather(*(flights.run("site", work) for _ in range(5)), flights.run("other", work))

    assert results == [1, 1, 1, 1, 1, 2]
    assert len(flights) == 0
    assert await flights.run("site", work) == 3  # finished flights are forgotten


async def test_a_caller_giving_up_does_not_cancel_the_others() -> None:
    flights: SingleFlight[str, str] = SingleFlight()

    async def work() -> str:
        await asyncio.sleep(0.1)
        return "done"

    impatient = asyncio.create_task(flights.run("site", work))
    patient = asyncio.create_task(flights.run("site", work))
    await asyncio.sleep(0.01)
    impatient.cancel()

    assert await patient == "done"
    assert impatient.cancelled()


async def test_errors_reach_every_caller_and_are_not_kept() -> None:
    flights: SingleFlight[str, str] = SingleFlight()

    async def fail() -> str:
        await asyncio.sleep(0.01)
        raise ValueError("broken")

    results = await asyncio.gather(flights.run("site", fail), flights.run("site", fail), return_exceptions=True)

    assert [type(r) for r in results] == [ValueError, ValueError]
    assert len(flights) == 0


async def test_cancel_all_stops_running_flights() -> None:
    flights: SingleFlight[str, str] = SingleFlight()
    waiter = asyncio.create_task(flights.run("site", lambda: asyncio.sleep(10, "late")))
    await asyncio.sleep(0.01)

    await flights.cancel_all()

    with pytest.raises(asyncio.CancelledError):
        await waiter
