"""A marketplace stub: the other end of moisim's callbacks, for tests and behaviour scenarios.

It answers every callback route the way a correct marketplace does, keeps a log of every call,
and can be scripted per callback kind with a sequence of faults, respx-style::

    stub.script("invoice", 500, Reply.timeout(2), Reply.drop(), 200)

Each scripted reply is used once, in order; when the script runs out the correct answer is
given again. ``defects`` make it answer wrongly for good (a conformance runner's negative tests).
"""

from __future__ import annotations

import asyncio
import ssl
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from aiohttp import web

from simulator import jsontext

KINDS = ("seller-cancellation", "invoice", "change")


def classify(path: str) -> str:
    if path.endswith("/notifications/seller-cancellation"):
        return "seller-cancellation"
    if path.endswith("/changes"):
        return "change"
    if path.endswith("/invoice"):
        return "invoice"
    return "unknown"


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: Any = None  # None: the correct body for the kind; a str is sent as it is
    delay: float = 0.0  # seconds before answering (past the caller's timeout: a stall)
    drop: bool = False  # close the connection without answering
    headers: dict[str, str] = field(default_factory=dict, hash=False)  # e.g. a redirect's Location

    @classmethod
    def timeout(cls, seconds: float) -> "Reply":
        return cls(delay=seconds)

    @classmethod
    def dropped(cls) -> "Reply":
        return cls(drop=True)


@dataclass
class Call:
    kind: str
    method: str
    path: str
    query: dict[str, str]
    url: str
    body: Any
    headers: dict[str, str]
    status: int | None = None
    at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat())


class MarketplaceStub:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._scripts: dict[str, deque[Reply]] = defaultdict(deque)
        self.defects: dict[str, Reply] = {}
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.url = ""

    # --- control -------------------------------------------------------------------------
    def script(self, kind: str, *replies: int | Reply) -> None:
        for reply in replies:
            self._scripts[kind].append(reply if isinstance(reply, Reply) else Reply(status=reply))

    def clear(self) -> None:
        self.forget()
        self.defects.clear()

    def forget(self) -> None:
        """Drop the call log and unused scripts; defects stay (between scenarios of one run)."""
        self.calls.clear()
        self._scripts.clear()

    def calls_of(self, kind: str) -> list[Call]:
        return [c for c in self.calls if c.kind == kind]

    async def wait_for(self, count: int, kind: str | None = None, timeout: float = 10.0,
                       answered: bool = True) -> list[Call]:
        """Wait until ``count`` calls (of ``kind``) have arrived and, unless ``answered`` is false,
        been answered; event-driven, no polling."""

        def enough() -> bool:
            calls = self.calls_of(kind) if kind else self.calls
            return len(calls) >= count and (not answered or all(c.status for c in calls))

        async with asyncio.timeout(timeout):
            async with self._changed:
                await self._changed.wait_for(enough)
        return self.calls_of(kind) if kind else list(self.calls)

    # --- serving -------------------------------------------------------------------------
    async def start(self, host: str = "127.0.0.1", port: int = 0, tls: ssl.SSLContext | None = None) -> str:
        """Listen (over https with ``tls``, a server context holding its certificate); the base URL."""
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port, ssl_context=tls)
        await site.start()
        sockets = site._server.sockets  # type: ignore[union-attr]
        self.url = f"{'https' if tls else 'http'}://{host}:{sockets[0].getsockname()[1]}"
        return self.url

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        text = await request.text()
        try:
            body: Any = jsontext.loads_foreign(text) if text else None
        except ValueError:
            body = text
        kind = classify(request.path)
        call = Call(kind, request.method, request.path, dict(request.query), str(request.url), body,
                    {k: v for k, v in request.headers.items() if k.lower().startswith(("x-moisim", "content-type"))})
        self.calls.append(call)
        async with self._changed:
            self._changed.notify_all()
        script = self._scripts.get(kind)
        reply = script.popleft() if script else self.defects.get(kind, Reply())
        try:
            if reply.delay:
                await asyncio.sleep(reply.delay)
            if reply.drop:
                assert request.transport is not None
                request.transport.close()
                call.status = -1
                return web.Response(status=200)
            call.status = reply.status
            payload = reply.body if reply.body is not None else self.correct_reply(kind, call)
            if isinstance(payload, str):
                return web.Response(status=reply.status, text=payload, content_type="application/json",
                                    headers=reply.headers)
            return web.json_response(payload, status=reply.status, headers=reply.headers)
        finally:
            if call.status is None:
                call.status = -2  # the caller went away (e.g. its timeout) before the reply
            async with self._changed:
                self._changed.notify_all()

    @staticmethod
    def correct_reply(kind: str, call: Call) -> Any:
        parts = call.path.strip("/").split("/")
        group = parts[-2] if len(parts) >= 2 else ""
        if kind == "invoice":
            return {"date": datetime.now(timezone.utc).isoformat(), "orderId": group, "receipt": uuid.uuid4().hex}
        if kind == "change":
            return {"orderId": group, "receipt": uuid.uuid4().hex}
        return {}
