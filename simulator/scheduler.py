"""Applies what falls due: timed transitions (the cancellation window closing, 30-day timeouts),
callback retries and scenario playback steps.

On the real clock a background task wakes for the next due timer or step (at least once a
second, so nothing added by a request is late by more than that). On the virtual clock nothing
moves until ``advance``, which lets time pass truthfully: it steps the clock from one due moment
to the next (a timer, a callback retry, a playback step) up to the target, applying each and
letting the callbacks due at it be attempted, before it returns. So ``advance 15s`` after a 500
sees the retries at 1, 2, 4 and 8 seconds, as the real clock would.

Timers are applied ``TIMER_BATCH`` at a time, with a turn of the event loop between batches: an
advance that makes ten thousand timers due at once would otherwise hold the loop for seconds, and
every other request (``/_sim/health`` included) with it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Awaitable, Callable

from simulator.clock import Clock, VirtualClock, iso
from simulator.domain.errors import VtexError
from simulator.domain.service import OrderService

if TYPE_CHECKING:
    from simulator.scenarios.playback import ScenarioPlayback

log = logging.getLogger("moisim.scheduler")
VIRTUAL_NOW = "virtual-clock-now"  # store meta key: where the virtual clock was last advanced to
TIMER_BATCH = 32  # timers applied in one turn of the event loop (10-30 ms of it)
STARTUP_NOTICE = 1000  # due timers at start-up (about 0.4 s of them) worth a line before they are applied


class Scheduler:
    def __init__(self, service: OrderService, clock: Clock, wake: Callable[[], None],
                 settle: Callable[[], Awaitable[bool]], playback: "ScenarioPlayback | None" = None) -> None:
        self.service = service
        self.store = service.store
        self.clock = clock
        self.wake = wake  # tell the dispatcher: fired timers may have queued callbacks
        self.settle = settle  # wait until the callbacks due now have been attempted
        self.playback = playback
        self._task: asyncio.Task | None = None
        self._lock = asyncio.Lock()
        self._stopping = False  # the server is stopping: an advance ends at its next step

    async def start(self) -> None:
        """Apply whatever fell due while the server was down (before it is ready, so no request
        sees an order as it was before its timer), then run."""
        began = time.perf_counter()
        due = self.store.count_due_timers(self.clock.now().timestamp())
        if due > STARTUP_NOTICE:  # said before, or a slow start would say nothing while it lasts
            log.info("applying the timers that fell due while moisim was stopped", extra={"fields": {"timers": due}})
        fired = await self.fire_timers()
        if fired:
            log.info("applied the timers that fell due while moisim was stopped", extra={"fields": {
                "transitions": fired, "ms": round((time.perf_counter() - began) * 1000, 1)}})
        self._task = asyncio.create_task(self._run() if self.clock.kind == "real" else self._run_due_once(),
                                         name="moisim-scheduler")

    def interrupt(self) -> None:
        """The server is stopping: an advance under way stops at its next step, answering
        ``503 SIM014``, instead of holding the shutdown up (aiohttp waits up to 10 s for it). What
        it applied is stored, the clock where it got to; a restart applies the timers due there
        and delivers the callbacks still queued. (The dispatcher, told too, ends the advance's
        wait for a moment's callbacks.)"""
        self._stopping = True

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def fire_timers(self) -> int:
        """Every timer due by now, a batch at a time; the dispatcher hears of each batch's callbacks."""
        fired = 0
        while True:
            taken, moved = self.service.fire_due_timers(TIMER_BATCH)
            fired += moved
            if moved:
                self.wake()
            if taken < TIMER_BATCH or self._stopping:
                return fired
            await asyncio.sleep(0)  # requests (and the batch's commit) get their turn

    async def run_due(self) -> int:
        """Timers, then playback steps, due by now."""
        fired = await self.fire_timers()
        if self.playback is not None:
            fired += await self.playback.run_due(lambda: self._stopping)
        return fired

    async def _run_due_once(self) -> None:
        """A virtual clock's start: the playback steps due now (the lock keeps a first advance from
        playing them too, as both would between the turns they give the loop)."""
        async with self._lock:
            await self.run_due()

    async def advance(self, seconds: float) -> int:
        """Move a virtual clock on, applying everything that falls due on the way, in due order."""
        if not isinstance(self.clock, VirtualClock):
            raise TypeError("only a virtual clock can be advanced")
        async with self._lock:  # two advances at once would interleave their steps
            target = self.clock.now() + timedelta(seconds=seconds)
            fired = 0
            while True:
                fired += await self.run_due()
                await self.settle()  # the callbacks due at this moment are attempted before time moves on
                self._refuse_if_stopping(target)
                now = self.clock.now()
                upcoming = self._next_due_after(now)
                if upcoming is None or upcoming > target:
                    break
                self._move_clock(upcoming)
            self._move_clock(target)
            fired += await self.run_due()
            self._refuse_if_stopping(target)
            self.wake()
            return fired

    def _refuse_if_stopping(self, target: datetime) -> None:
        if self._stopping:
            now = self.clock.now()
            raise VtexError("SIM014", f"moisim is stopping: the advance to {iso(target)} stopped with the clock "
                                      f"at {iso(now)}; what it applied is stored, and what fell due by then and "
                                      "is not applied yet is applied when moisim starts again", status=503)

    def _move_clock(self, moment: datetime) -> None:
        """Every step is stored, so a crash mid-advance resumes at the last moment reached."""
        assert isinstance(self.clock, VirtualClock)
        self.clock.set(moment)
        with self.store.transaction():
            self.store.set_meta(VIRTUAL_NOW, iso(moment) or "")

    def _next_due_after(self, now: datetime) -> datetime | None:
        moments = [self.store.next_timer_at(), self.store.next_delivery_at(),
                   self.playback.next_due_at() if self.playback else None]
        later = [m for m in moments if m is not None and m > now.timestamp()]
        return datetime.fromtimestamp(min(later), tz=now.tzinfo) if later else None

    async def _run(self) -> None:
        while True:
            try:
                await self.run_due()
                moments = [self.store.next_timer_at(), self.playback.next_due_at() if self.playback else None]
                nxt = min((m for m in moments if m is not None), default=None)
                wait = 1.0 if nxt is None else max(0.01, min(1.0, nxt - self.clock.now().timestamp()))
            except Exception:
                log.exception("scheduler pass failed; retrying")
                wait = 1.0
            await asyncio.sleep(wait)
