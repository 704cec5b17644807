"""A real server process is killed with SIGKILL mid-retry; after a restart on the same database
every callback still arrives, is acknowledged exactly once, and the journal shows every attempt."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any, Awaitable, Callable

import aiohttp

from simulator.stub import MarketplaceStub, Reply
from tests import seeds
from tests.conftest import headers
from tests.test_cli import free_port

ORDER = seeds.SEED_ORDER_ID


class Server:
    def __init__(self, tmp: Path) -> None:
        self.port = free_port()
        self.db = tmp / "crash.db"
        self.config = tmp / "crash.yaml"
        self.config.write_text("callbacks:\n  timeout: 1s\n  backoff: 1s\n  attempts: 10\n")
        self.proc: subprocess.Popen | None = None

    async def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "simulator", "serve", "--config", str(self.config), "--port", str(self.port),
             "--db", str(self.db), "--clock", "virtual"],
            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        assert self.proc.stderr is not None
        loop = asyncio.get_running_loop()
        while True:  # the server announces readiness on stderr
            line = await loop.run_in_executor(None, self.proc.stderr.readline)
            assert line, f"server exited: {self.proc.wait()}"
            if "moisim ready" in line:
                return

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self._close()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            self.proc.wait(timeout=15)
        self._close()

    def _close(self) -> None:
        if self.proc and self.proc.stderr:
            self.proc.stderr.close()  # the pipe the readiness line came through

    async def call(self, method: str, path: str, role: str = "marketplace", json: Any = None, expect: int = 200) -> Any:
        async with aiohttp.ClientSession() as session:
            async with session.request(method, f"http://127.0.0.1:{self.port}{path}", json=json,
                                       headers=headers(role)) as resp:
                body = await resp.json(content_type=None) if resp.status != 204 else None
                assert resp.status == expect, body
                return body


async def until(check: Callable[[], Awaitable[bool]], timeout: float = 15.0) -> None:
    """Re-check a condition the server reports, until it holds (no fixed sleeps)."""
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(0.02)


async def test_kill_9_mid_retry_loses_nothing_and_sends_nothing_twice(tmp_path: Path) -> None:
    stub = MarketplaceStub()
    await stub.start()
    server = Server(tmp_path)
    try:
        await server.start()
        await server.call("PUT", "/api/checkout/pvt/orders?sc=1&affiliateId=MKP",
                          json=seeds.place_body(endpoint=f"{stub.url}/api/orders?parameter=value"))
        await server.call("POST", f"/api/checkout/pvt/orders/{ORDER}/receipts/marketplace-order-authorization",
                          json=seeds.authorization_body())
        await server.call("POST", "/_sim/clock/advance", role="admin", json={"seconds": 1800})
        await server.call("POST", f"/api/oms/pvt/orders/{ORDER}/start-handling", role="seller", expect=204)
        stub.script("invoice", 500, Reply.timeout(3.0))
        await server.call("POST", f"/api/oms/pvt/orders/{ORDER}/invoice", role="seller", json=seeds.invoice_body("nf-1"))
        await server.call("POST", f"/api/oms/pvt/orders/{ORDER}/cancel", role="seller", expect=400, json={})
        await stub.wait_for(1, "invoice")

        async def attempt_recorded() -> bool:
            view = await server.call("GET", f"/_sim/orders/{ORDER}", role="admin")
            return view["callbacks"][0]["attempts"] == 1

        await until(attempt_recorded)
        # The advance lets the retry due after 1 s go out, and waits for it; the marketplace
        # stalls it: kill the server in the middle of that attempt.
        advance = asyncio.create_task(server.call("POST", "/_sim/clock/advance", role="admin", json={"seconds": 1}))
        await stub.wait_for(2, "invoice", answered=False)
        server.kill()
        with contextlib.suppress(aiohttp.ClientError):
            await advance

        await server.start()  # same database
        view = await server.call("GET", f"/_sim/orders/{ORDER}", role="admin")
        assert view["chainOrder"]["status"] == "invoiced"
        # The retry was already due when the server died: it goes out as soon as it is back.

        async def delivered() -> bool:
            view = await server.call("GET", f"/_sim/orders/{ORDER}", role="admin")
            return view["callbacks"][0]["state"] == "delivered"

        await until(delivered)
        await server.call("POST", "/_sim/clock/advance", role="admin", json={"seconds": 3600})
        journal = await server.call("GET", f"/_sim/journal?orderId={ORDER}&direction=out", role="admin")
        acknowledged = [c for c in stub.calls_of("invoice") if c.status == 200]
        assert len(acknowledged) == 1
        assert acknowledged[0].body["invoiceNumber"] == "nf-1"
        outcomes = [(e["attempt"], e["status"], e["outcome"]) for e in journal["entries"]]
        # Attempt 1 (500) was recorded before the kill; attempt 2 was marked in flight before it went
        # out, so the restart journals it as interrupted (its fate unknown to moisim); attempt 3 is
        # accepted. The journal tells every attempt the marketplace saw, by the number it saw.
        assert outcomes == [(1, 500, "retrying"), (2, None, "interrupted"), (3, 200, "accepted")]
        assert [c.headers["X-Moisim-Attempt"] for c in stub.calls_of("invoice")] == ["1", "2", "3"]
        assert "in flight" in journal["entries"][1]["error"]
    finally:
        server.stop()
        await stub.stop()


async def test_kill_9_under_placement_load_keeps_every_answered_order_and_no_stray_reservation(tmp_path: Path) -> None:
    """Placement is atomic across a crash: killed while 32 connections place orders, the server
    comes back with every order it answered 200, each whole, and stock reserved for exactly the
    orders it kept (some it kept may not have been answered: their commit beat the kill)."""
    server = Server(tmp_path)
    answered: list[str] = []
    try:
        await server.start()
        queue = list(range(400))
        async with aiohttp.ClientSession(headers=headers("marketplace")) as session:
            async def place() -> None:
                while queue:
                    group = f"crash-{queue.pop()}"
                    try:
                        async with session.put(f"http://127.0.0.1:{server.port}/api/checkout/pvt/orders?sc=1&"
                                               "affiliateId=MKP", json=seeds.place_body(group)) as resp:
                            if resp.status == 200:
                                answered.append(f"MKP-{group}-01")
                    except aiohttp.ClientError:
                        return  # the server is gone
                    if len(answered) >= 60 and server.proc and server.proc.poll() is None:
                        server.kill()  # in the middle of the load: the other 31 connections wait on replies

            await asyncio.gather(*(place() for _ in range(32)))
        assert 60 <= len(answered) < 400

        await server.start()  # same database
        kept = []
        for page in range(1, 6):
            listing = await server.call("GET", f"/api/oms/pvt/orders?per_page=100&page={page}")
            kept += [entry["orderId"] for entry in listing["list"]]
        assert set(answered) <= set(kept)
        reserved: dict[tuple[str, str], int] = {}
        for order_id in kept:
            order = await server.call("GET", f"/api/oms/pvt/orders/{order_id}")
            assert order["status"] == "waiting-for-mkt-authorization"
            assert [i["id"] for i in order["items"]] == ["8", "36"]  # whole: both items
            assert order["franchiseOrderIds"]
            for franchise_id in order["franchiseOrderIds"]:  # and its franchise order with them
                franchise = await server.call("GET", f"/api/oms/pvt/orders/{franchise_id}")
                assert franchise["chainOrderId"] == order_id
            for item in order["items"]:
                key = (item["fulfillment"]["franchiseStore"], item["id"])
                reserved[key] = reserved.get(key, 0) + item["quantity"]
        stock = await server.call("GET", "/_sim/stock", role="admin")
        assert {(s["storeId"], s["sku"]): s["reserved"] for s in stock["stock"] if s["reserved"]} == reserved
        # And it goes on placing.
        await server.call("PUT", "/api/checkout/pvt/orders?sc=1&affiliateId=MKP", json=seeds.place_body("after"))
    finally:
        server.stop()
