"""The dispatcher: delivers what the outbox holds, retries what failed, records every attempt.

Rules (issue 3, reference README decision 7):
- each attempt has a timeout (``callbacks.timeout``, real seconds);
- connection errors, timeouts and 5xx are retried with exponential back-off on the simulator's
  clock (a virtual clock's retries come due when it is advanced) until ``callbacks.attempts``;
- a 4xx is final; for an order change a 500 is the marketplace refusing it, also final;
- a 2xx settles the delivery even when its body is malformed, which is recorded as a
  conformance failure of the reply;
- one order's callbacks go out in the order they were queued, one at a time; different orders
  are delivered in parallel (``callbacks.concurrency``).

The attempt's verdict, the delivery's new state, the journal entry and (for a change) the
order's update are written in one transaction, so a restart, even ``kill -9``, resumes exactly
where the last recorded attempt left off.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

import aiohttp

from simulator import jsontext
from simulator.clock import Clock, iso
from simulator.config import CallbackSettings
from simulator.outbox.callbacks import CHANGE
from simulator.outbox.resolver import DaemonThreadResolver
from simulator.schemas import Finding, SchemaRegistry
from simulator.store.base import Delivery, Kept, Store

log = logging.getLogger("moisim.dispatcher")

MAX_REPLY_BYTES = 64 * 1024
Settled = Callable[[Delivery, str, Any], None]  # (delivery, outcome, parsed reply)


@dataclass(slots=True)
class AttemptResult:
    status: int | None
    reply_text: str | None
    error: str | None
    latency_ms: float
    cut: bool = False  # the reply went on past MAX_REPLY_BYTES


async def read_reply(content: aiohttp.StreamReader, limit: int = MAX_REPLY_BYTES) -> tuple[bytes, bool]:
    """A reply's body, up to ``limit`` bytes, and whether there was more. It takes as many reads as
    the body arrives in (TCP segments, chunks of a chunked reply, TLS records): one read returns
    only what has arrived so far, and a reply judged on its first piece is judged wrongly."""
    parts: list[bytes] = []
    size = 0
    while size <= limit:
        chunk = await content.read(limit + 1 - size)
        if not chunk:
            break
        parts.append(chunk)
        size += len(chunk)
    body = b"".join(parts)
    return body[:limit], size > limit


class Dispatcher:
    def __init__(self, store: Store, clock: Clock, settings: CallbackSettings, schemas: SchemaRegistry,
                 on_settled: dict[str, Settled] | None = None) -> None:
        self.store = store
        self.clock = clock
        self.settings = settings
        self.schemas = schemas
        self.on_settled = on_settled or {}  # callback kind -> told when a delivery of that kind is final
        self._wake = asyncio.Event()
        self._inflight: dict[tuple[str, str], asyncio.Task] = {}
        self._session: aiohttp.ClientSession | None = None
        self._runner: asyncio.Task | None = None
        self._progress = asyncio.Event()  # set whenever an attempt finished
        self._stopping = False  # the server is stopping: nobody waits for callbacks any more
        self._timeout = aiohttp.ClientTimeout(total=settings.timeout)  # made once: its __init__ is not cheap

    # --- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        connector = aiohttp.TCPConnector(limit=self.settings.concurrency * 2, enable_cleanup_closed=True,
                                         resolver=DaemonThreadResolver(), ssl=self.settings.tls())
        self._session = aiohttp.ClientSession(connector=connector, headers={
            "User-Agent": "moisim", "Content-Type": "application/json", "Accept": "application/json"})
        self._record_interrupted()
        self._runner = asyncio.create_task(self._run(), name="moisim-dispatcher")

    async def stop(self) -> None:
        if self._runner:
            self._runner.cancel()
            await asyncio.gather(self._runner, return_exceptions=True)
        tasks = list(self._inflight.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._session:
            await self._session.close()

    def interrupt(self) -> None:
        """The server is stopping: every wait for callbacks (``drain``, ``settle``) ends now, so
        that none holds the shutdown up; the attempts in flight are cut by ``stop``."""
        self._stopping = True
        self._progress.set()

    def wake(self) -> None:
        """Something was queued or the clock moved: look at the outbox now."""
        self._wake.set()

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait until nothing is due now and nothing is in flight (tests and the scenario runner).

        Retries scheduled for later (on a virtual clock: after the next advance) are not waited for.
        It returns early if the server begins to stop.
        """
        async with asyncio.timeout(timeout):
            while True:
                self._progress.clear()
                if self._stopping:
                    return
                if not self._inflight and not self.store.ready_deliveries(self.clock.now().timestamp(), limit=1):
                    return
                self.wake()
                await self._progress.wait()

    async def settle(self) -> bool:
        """``drain`` bounded by one attempt's timeout and a margin; never raises. False if an
        attempt was still in flight when it gave up (the caller moves on without it), or when the
        server began to stop."""
        try:
            await self.drain(timeout=self.settings.timeout + 5)
        except TimeoutError:
            log.warning("callbacks still in flight after %.0fs; moving on", self.settings.timeout + 5)
            return False
        return not self._stopping

    # --- the loop ------------------------------------------------------------------------
    async def _run(self) -> None:
        while True:
            try:
                self._launch_ready()
            except Exception:  # a store hiccup must not kill delivery for good
                log.exception("dispatcher loop failed; retrying")
            self._wake.clear()
            try:
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a stop that lands
                # in the same turn as a wake (CPython gh-86296), and the loop would run on for ever.
                async with asyncio.timeout(self._sleep_for()):
                    await self._wake.wait()
                # One more turn of the loop before looking at the outbox: the attempts ending in
                # this one are launched again together, one query and one write for all of them
                # (woken at once, as it now is, delivery ran about 7 % slower).
                await asyncio.sleep(0)
            except TimeoutError:
                pass

    def _sleep_for(self) -> float | None:
        if self.clock.kind == "virtual":
            return None if not self._inflight else 1.0  # only an advance or new work makes retries due
        nxt = self.store.next_delivery_at()
        if nxt is None:
            return 1.0
        return max(0.005, min(1.0, nxt - self.clock.now().timestamp()))

    def _launch_ready(self) -> None:
        room = self.settings.concurrency - len(self._inflight)
        if room <= 0:
            return
        now = self.clock.now().timestamp()
        ready = self.store.ready_deliveries(now, exclude_orders=self._inflight.keys(), limit=room)
        if ready:
            self.store.mark_in_flight(((d.id, d.attempts + 1) for d in ready), now)  # committed before they go out
        for delivery in ready:
            key = (delivery.account, delivery.order_id)
            task = asyncio.create_task(self._deliver(delivery), name=f"moisim-delivery-{delivery.id}")
            self._inflight[key] = task
            task.add_done_callback(functools.partial(self._done, key))

    def _done(self, key: tuple[str, str], _task: asyncio.Task[None]) -> None:
        self._inflight.pop(key, None)
        self._wake.set()
        self._progress.set()

    # --- one attempt ---------------------------------------------------------------------
    async def _deliver(self, delivery: Delivery) -> None:
        attempt = delivery.attempts + 1
        try:
            await self.store.durable()  # the in-flight mark is on disk before the marketplace can see the attempt
        except Exception:  # the commit failed (a full disk, say): not sent; it is still pending, tried again later
            log.exception("could not mark attempt %s of delivery %s in flight; not sent", attempt, delivery.id)
            return
        started = self.clock.now()
        result = await self._post(delivery, attempt)
        try:
            self._record(delivery, attempt, started, result)
        except Exception as exc:
            log.exception("could not record attempt %s of delivery %s", attempt, delivery.id)
            self._give_up_unrecorded(delivery, attempt, started, result, exc)

    async def _post(self, delivery: Delivery, attempt: int) -> AttemptResult:
        assert self._session is not None
        payload = delivery.body_text.encode()  # sent as stored: the body was made once, when it was queued
        headers = {"X-Moisim-Delivery": str(delivery.id), "X-Moisim-Attempt": str(attempt)}
        t0 = time.perf_counter()
        try:
            async with self._session.post(delivery.url, data=payload, headers=headers, timeout=self._timeout,
                                          allow_redirects=False) as response:
                raw, cut = await read_reply(response.content)
                moved = None
                if 300 <= response.status < 400:  # a POST's body would not survive a redirect: say where it went
                    # bytes that are not UTF-8 arrive as lone surrogates: kept as U+FFFD, so the text stores as UTF-8
                    location = response.headers.get("Location", "(no Location)").encode(
                        "utf-8", "surrogateescape").decode("utf-8", "replace")
                    moved = (f"redirected to {location}; moisim does not follow redirects: give the order the "
                             "endpoint's final URL")
                return AttemptResult(response.status, raw.decode("utf-8", "replace"), moved, _ms(t0), cut)
        except asyncio.TimeoutError:
            return AttemptResult(None, None, f"timeout after {self.settings.timeout:g}s", _ms(t0))
        except aiohttp.ClientError as exc:
            return AttemptResult(None, None, f"connection error: {type(exc).__name__}: {exc}", _ms(t0))
        except (OSError, ValueError) as exc:  # e.g. an unusable URL
            return AttemptResult(None, None, f"connection error: {type(exc).__name__}: {exc}", _ms(t0))

    def _record(self, delivery: Delivery, attempt: int, started: Any, result: AttemptResult) -> None:
        outcome, state, reply, findings = self.judge(delivery, attempt, result)
        next_at = delivery.next_attempt_at
        if state == "pending":
            next_at = self.clock.now().timestamp() + self.settings.delay_before(attempt + 1)
        verdict = _verdict(
            attempt, started, result, outcome,
            replyConforms=None if result.status is None or not (200 <= result.status < 300) or delivery.reply_schema is None
            else not findings,
            schemaErrors=[f.to_json() for f in findings],
            nextAttemptAt=iso_ts(next_at) if state == "pending" else None,
        )
        settled = self.on_settled.get(delivery.kind) if state != "pending" else None
        # A settlement that changes the order (a change accepted or refused) joins the verdict and
        # the journal entry in one transaction, so all of it is recorded or none.
        with self.store.transaction() if settled else nullcontext():
            self._write_attempt(delivery, state, next_at, verdict, iso(started) or "")
            if settled:
                settled(delivery, outcome, reply)
        # The journal records every attempt; the log tells of the ones that need a look (a plain
        # acceptance is logged at debug: a busy server would otherwise log every callback).
        level = logging.DEBUG if outcome == "accepted" and not findings else logging.INFO
        if log.isEnabledFor(level):
            log.log(level, "callback %s", delivery.kind, extra={"fields": {
                "deliveryId": delivery.id, "orderId": delivery.order_id, "url": delivery.url, "attempt": attempt,
                "status": result.status, "error": result.error, "outcome": outcome, "state": state,
                "replyConforms": verdict["replyConforms"]}})

    def _give_up_unrecorded(self, delivery: Delivery, attempt: int, started: Any, result: AttemptResult,
                            exc: Exception) -> None:
        """Recording the attempt's outcome failed (its transaction, and any change to the order, is
        rolled back): the delivery ends ``failed`` with an error that says so. Left pending, it
        would go out again at once, and fail the same way, for ever."""
        verdict = _verdict(attempt, started, result, "error",
                           error=f"moisim could not record this attempt's outcome ({type(exc).__name__}: {exc}); the "
                                 "order is left as it was and the callback is not sent again")
        try:
            self._write_attempt(delivery, "failed", delivery.next_attempt_at, verdict, iso(started) or "")
        except Exception:
            log.exception("could not record the failure of delivery %s either", delivery.id)

    def _write_attempt(self, delivery: Delivery, state: str, next_at: float, verdict: dict[str, Any], at: str) -> None:
        """The attempt's verdict on the delivery and its journal entry: both join the open batch
        (one UPDATE, one row of the batch's journal insert), so they commit together."""
        self.store.settle_attempt(delivery.id, state=state, attempts=verdict["attempt"], next_attempt_at=next_at,
                                  outcome=verdict)
        self.store.journal_add(delivery.account, at, "out", delivery.kind, delivery.order_id, {
            "deliveryId": delivery.id, "method": "POST", "url": delivery.url, "replySchema": delivery.reply_schema,
            "state": state, **{k: v for k, v in verdict.items() if k != "reply"}},
            body=Kept.DELIVERY, reply=verdict["reply"])

    def _record_interrupted(self) -> None:
        """Attempts that went out before the process stopped and never came back: journaled as
        interrupted (whether the marketplace got them is unknown), and the next attempt is made."""
        for delivery in self.store.interrupted():
            attempt = delivery.in_flight or delivery.attempts + 1
            went_out = None if delivery.in_flight_at is None else iso_ts(delivery.in_flight_at)  # None: marked by an older moisim
            verdict: dict[str, Any] = {
                "attempt": attempt, "at": went_out, "status": None, "latencyMs": None, "outcome": "interrupted",
                "error": "moisim stopped while this attempt was in flight; the marketplace may or may not have "
                         "received it", "reply": None, "replyConforms": None, "schemaErrors": [], "nextAttemptAt": None,
            }
            self._write_attempt(delivery, delivery.state, delivery.next_attempt_at, verdict,
                                went_out or iso(self.clock.now()) or "")
            log.warning("callback %s interrupted", delivery.kind, extra={"fields": {
                "deliveryId": delivery.id, "orderId": delivery.order_id, "attempt": attempt}})

    def judge(self, delivery: Delivery, attempt: int, result: AttemptResult) -> tuple[str, str, Any, list]:
        """(outcome, new delivery state, parsed reply, schema findings) for one attempt."""
        status = result.status
        last = attempt >= self.settings.attempts
        if status is not None and 200 <= status < 300:
            reply: Any = None
            findings: list = []
            if delivery.reply_schema is not None and result.cut:
                findings = [Finding((), f"reply is longer than {MAX_REPLY_BYTES} bytes, more than moisim reads", "size")]
            elif delivery.reply_schema is not None:
                try:
                    # a byte order mark is read past, as in a request body (.NET reads it so)
                    reply = jsontext.loads_foreign((result.reply_text or "").removeprefix("\ufeff"))
                except jsontext.TooDeep as exc:
                    findings = [Finding(exc.path, str(exc), "json")]
                except jsontext.JSONDecodeError as exc:
                    findings = [Finding((), f"reply is not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})",
                                        "json")]
                else:
                    findings = self.schemas.findings(delivery.reply_schema, reply)
            return "accepted", "delivered", reply, findings
        if status == 500 and delivery.kind == CHANGE:
            return "refused", "refused", None, []
        if status is not None and status < 500:
            return "rejected", "failed", None, []  # 4xx (and 1xx/3xx): final, not retried
        # connection error, timeout, 5xx: retried while attempts remain
        return ("retrying", "pending", None, []) if not last else ("gave-up", "failed", None, [])


def _verdict(attempt: int, started: Any, result: AttemptResult, outcome: str, **judged: Any) -> dict[str, Any]:
    """An attempt's verdict as it is stored and journaled: what came back, the outcome, and what
    ``judged`` says of the reply (replyConforms, schemaErrors, nextAttemptAt; or an error of moisim's)."""
    return {"attempt": attempt, "at": iso(started), "status": result.status, "latencyMs": round(result.latency_ms, 2),
            "error": result.error, "reply": result.reply_text, "outcome": outcome, "replyConforms": None,
            "schemaErrors": [], "nextAttemptAt": None, **judged}


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000


def iso_ts(epoch: float) -> str | None:
    return iso(datetime.fromtimestamp(epoch, tz=timezone.utc))
