"""Checkout routes the marketplace calls: place a chain order, authorize it."""

from __future__ import annotations

from aiohttp import web

from simulator.http import keys
from simulator.http.bodies import read_json
from simulator.http.middleware import ACCOUNT, allow
from simulator.http.query import once
from simulator.http.render import json_response


@allow("marketplace")
async def place_order(request: web.Request) -> web.Response:
    app = request.app
    body = await read_json(request, app[keys.SCHEMAS], "place-order.request")
    query = request.query
    once(query)
    affiliate = query.get("affiliateId") or query.get("affiliateid")
    placed = app[keys.SERVICE].place(request[ACCOUNT], affiliate, query.get("sc"), body)
    notes = request[keys.NOTES]
    notes.order_id, notes.reply_is_placement = placed.order_id, True
    return web.Response(body=placed.response, content_type="application/json")


@allow("marketplace")
async def authorize_order(request: web.Request) -> web.Response:
    app = request.app
    body = await read_json(request, app[keys.SCHEMAS], "authorization.request")
    response = app[keys.SERVICE].authorize(request[ACCOUNT], request.match_info["orderId"], body)
    return json_response(response)


def setup_routes(app: web.Application) -> None:
    app.router.add_put("/api/checkout/pvt/orders", place_order, name="place-order")
    app.router.add_post("/api/checkout/pvt/orders/{orderId}/receipts/marketplace-order-authorization",
                        authorize_order, name="authorize-order")
