"""Applies timed transitions (the cancellation window closing, 30-day timeouts) when they fall due.

On the real clock a background task wakes for the next due timer (at least once a second, so a
timer added by a request is never late by more than that). On the virtual clock nothing moves
until ``advance``, which applies every transition due by the new time before it returns.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Callable

from simulator.clock import Clock, VirtualClock, iso
from simulator.domain.service import OrderService

log = logging.getLogger("moisim.scheduler")
VIRTUAL_NOW = "virtual-clock-now"  # store meta key: where the virtual clock was last advanced to


class Scheduler:
    def __init__(self, service: OrderService, clock: Clock, on_change: Callable[[], None]) -> None:
        self.service = service
        self.clock = clock
        self.on_change = on_change  # e.g. wake the dispatcher: fired timers may queue callbacks
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self.fire_due()  # whatever fell due while the server was down
        if self.clock.kind == "real":
            self._task = asyncio.create_task(self._run(), name="moisim-scheduler")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def fire_due(self) -> int:
        fired = self.service.fire_due_timers()
        if fired:
            self.on_change()
        return fired

    def advance(self, seconds: float) -> int:
        """Move a virtual clock on and apply everything that fell due, in due order."""
        if not isinstance(self.clock, VirtualClock):
            raise TypeError("only a virtual clock can be advanced")
        now = self.clock.advance(seconds)
        self.service.store.set_meta(VIRTUAL_NOW, iso(now) or "")
        return self.fire_due()

    async def _run(self) -> None:
        while True:
            try:
                self.fire_due()
                nxt = self.service.store.next_timer_at()
                wait = 1.0 if nxt is None else max(0.01, min(1.0, nxt - self.clock.now().timestamp()))
            except Exception:
                log.exception("timer pass failed; retrying")
                wait = 1.0
            await asyncio.sleep(wait)
