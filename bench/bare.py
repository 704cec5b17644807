"""The baselines: a bare aiohttp handler for placement, a bare receiver for callbacks.

`python -m bench.bare place|receiver` listens on a free loopback port and prints it.
"""

from __future__ import annotations

import asyncio
import sys
import time

from aiohttp import web


async def place(request: web.Request) -> web.Response:
    # Parse the same body moisim parses and answer with a place-order-shaped document.
    body = await request.json()
    group = body["marketplaceOrderGroup"]
    return web.json_response({"orderForm": None, "transactionData": {"merchantTransactions": []},
                              "orders": [{"orderId": f"MKP-{group}-01", "orderGroup": f"MKP-{group}", **body}]})


RECEIVED = 0
FIRST = LAST = 0.0  # perf_counter of the first and the latest arrival


async def receive(request: web.Request) -> web.Response:
    global RECEIVED, FIRST, LAST
    await request.read()
    RECEIVED += 1
    LAST = time.perf_counter()
    FIRST = FIRST or LAST
    return web.json_response({"date": "2026-01-01T00:00:00Z", "orderId": "x", "receipt": "y"})


async def count(_request: web.Request) -> web.Response:
    return web.json_response(RECEIVED)  # how many arrived so far


async def span(_request: web.Request) -> web.Response:
    return web.json_response(LAST - FIRST)  # first to latest arrival, in seconds


async def reset(_request: web.Request) -> web.Response:
    global RECEIVED, FIRST, LAST
    RECEIVED, FIRST, LAST = 0, 0.0, 0.0
    return web.json_response(RECEIVED)


async def main(kind: str) -> None:
    app = web.Application()
    if kind == "place":
        app.router.add_put("/api/checkout/pvt/orders", place)
    else:
        app.router.add_get("/_count", count)
        app.router.add_get("/_span", span)
        app.router.add_get("/_reset", reset)
        app.router.add_post("/{tail:.*}", receive)
    await serve(app)


async def serve(app: web.Application) -> None:
    """Listen on a free loopback port, print it, and serve until killed."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print(site._server.sockets[0].getsockname()[1], flush=True)  # type: ignore[union-attr]
    await asyncio.Event().wait()


if __name__ == "__main__":
    from simulator.cli import run

    run(main(sys.argv[1]))  # on the loop moisim serve runs on, so the two compare like for like
