"""The floor: about the least work a validated, durable placement can be on moisim's stack.

`python -m bench.floor DB` listens on a free loopback port and prints it, like `bench.bare`. Per
PUT it checks the keys, parses the body with orjson, validates it with moisim's own schema gate
(jsonschema-rs), checks the affiliate, sales channel, SKUs and SLAs, then writes the order (the
raw body) and its stock reservation into SQLite (WAL, synchronous=NORMAL, one COMMIT per turn of
the event loop, as moisim's group commit) and answers only once that COMMIT is done. Its answer is
moisim's own place-order response for the seed's order, rendered once at start-up, with the
order group swapped in.

It is not a simulator: no franchise order, no workflow, no timers, no journal, no index. It
shows how much of the gap between moisim and the bare handler the stack itself imposes (aiohttp,
validation, a durable write on the event loop's thread) and how much is moisim's own work.
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from dataclasses import replace
from typing import Any

import orjson
from aiohttp import web

from bench.bare import serve
from simulator.clock import make_clock
from simulator.config import load_config
from simulator.domain.service import OrderService
from simulator.http.app import open_store
from simulator.schemas import default_registry
from tests import seeds

TEMPLATE_GROUP = "floor-template-group"


class Floor:
    def __init__(self, path: str) -> None:
        config = load_config(None)
        self.keys = {c.app_key: c.app_token for c in config.credentials if c.role == "marketplace"}
        self.affiliates, self.catalog, self.slas = config.affiliates, set(config.catalog), set(config.slas)
        self.gate = default_registry().gate("place-order.request")
        in_memory = replace(config, store_path=":memory:")
        service = OrderService(in_memory, open_store(in_memory), make_clock("real"))
        self.template = service.place(config.account, "MKP", "1", seeds.place_body(TEMPLATE_GROUP)).response
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS orders (order_id TEXT PRIMARY KEY, body BLOB NOT NULL)")
        self.db.execute("CREATE TABLE IF NOT EXISTS stock (sku TEXT PRIMARY KEY, reserved INTEGER NOT NULL)")
        self.db.executemany("INSERT OR IGNORE INTO stock VALUES (?, 0)", [(sku,) for sku in self.catalog])
        self.waiting: list[asyncio.Future[None]] = []
        self.in_transaction = False

    def _commit(self) -> None:
        self.db.execute("COMMIT")
        self.in_transaction = False
        waiting, self.waiting = self.waiting, []
        for future in waiting:
            future.set_result(None)

    async def place(self, request: web.Request) -> web.Response:
        headers = request.headers
        key = headers.get("X-VTEX-API-AppKey", "")
        if key not in self.keys or self.keys[key] != headers.get("X-VTEX-API-AppToken"):
            return web.Response(status=401)
        raw = await request.read()
        body: Any = orjson.loads(raw)
        query = request.query
        affiliate = query.get("affiliateId", "")
        if (not self.gate.is_valid(body) or self.affiliates.get(affiliate) != query.get("sc")
                or any(item["id"] not in self.catalog for item in body["items"])
                or any(info["selectedSla"] not in self.slas for info in body["shippingData"]["logisticsInfo"])):
            return web.Response(status=400)
        group = body["marketplaceOrderGroup"]
        if not self.in_transaction:
            self.db.execute("BEGIN")
            self.in_transaction = True
            asyncio.get_running_loop().call_soon(self._commit)
        try:
            self.db.execute("INSERT INTO orders VALUES (?, ?)", (f"{affiliate}-{group}-01", raw))
        except sqlite3.IntegrityError:
            return web.Response(status=400)
        self.db.executemany("UPDATE stock SET reserved = reserved + ? WHERE sku = ?",
                            [(item["quantity"], item["id"]) for item in body["items"]])
        committed = asyncio.get_running_loop().create_future()
        self.waiting.append(committed)
        await committed
        return web.Response(body=self.template.replace(TEMPLATE_GROUP.encode(), group.encode()),
                            content_type="application/json")


async def main(path: str) -> None:
    app = web.Application()
    app.router.add_put("/api/checkout/pvt/orders", Floor(path).place)
    await serve(app)


if __name__ == "__main__":
    from simulator.cli import run

    run(main(sys.argv[1]))
