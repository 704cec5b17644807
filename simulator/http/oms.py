"""OMS routes: read and list orders, cancel, and the seller's actions (start handling, invoice,
tracking, changes, cancellation decisions)."""

from __future__ import annotations

import math

from aiohttp import web

from simulator.domain import render
from simulator.domain.errors import NotFound
from simulator.http import keys, listing
from simulator.http.bodies import read_json
from simulator.http.middleware import ACCOUNT, ROLE, allow
from simulator.http.query import int_param, once
from simulator.http.render import json_response

READERS = ("marketplace", "seller")


@allow(*READERS)
async def get_order(request: web.Request) -> web.Response:
    app = request.app
    order = app[keys.SERVICE].order_by_reference(request[ACCOUNT], request.match_info["orderId"])
    request[keys.NOTES].order_id = order.id  # journaled under the order's id, however it was named
    return json_response(render.order_json(order, app[keys.CONFIG]))


@allow(*READERS)
async def get_order_group(request: web.Request) -> web.Response:
    app = request.app
    group = request.match_info["orderGroup"]
    orders = app[keys.STORE].orders_in_group(request[ACCOUNT], group)
    if not orders:
        raise NotFound("CHK0199", f"Order Group {group} not found")
    return json_response([render.order_json(o, app[keys.CONFIG]) for o in orders])


@allow(*READERS)
async def list_orders(request: web.Request) -> web.Response:
    app = request.app
    query = request.query
    once(query)
    page = int_param(query, "page", 1, 1, 30)
    per_page = int_param(query, "per_page", 15, 1, 100)
    where = listing.order_filter(query, app[keys.CONFIG])
    field, descending = listing.order_by(query)
    found = await app[keys.STORE].list_orders_off_loop(request[ACCOUNT], where, descending=descending,
                                                       order_by=field, limit=per_page, offset=(page - 1) * per_page)
    return json_response({
        "list": [render.list_entry(o, app[keys.CONFIG]) for o in found.orders], "facets": [],
        "paging": {"total": found.total, "pages": math.ceil(found.total / per_page), "currentPage": page,
                   "perPage": per_page},
        "stats": render.list_stats(found.value, found.items),
    })


@allow("marketplace", "seller")
async def cancel_order(request: web.Request) -> web.Response:
    """Marketplace keys: a cancellation request. Seller keys: the seller cancels (or accepts one)."""
    app = request.app
    body = await read_json(request, app[keys.SCHEMAS], "cancel.request", optional=True) or {}
    service = app[keys.SERVICE]
    order_id = request.match_info["orderId"]
    if request[ROLE] == "marketplace":
        receipt = service.request_cancellation(request[ACCOUNT], order_id, body)
    else:
        receipt = service.seller_cancel(request[ACCOUNT], order_id, body)
    return _queued(request, receipt)


@allow("seller")
async def deny_cancellation(request: web.Request) -> web.Response:
    app = request.app
    body = await read_json(request, app[keys.SCHEMAS], "deny-cancellation.request", optional=True) or {}
    app[keys.SERVICE].deny_cancellation(request[ACCOUNT], request.match_info["orderId"], body)
    return web.Response(status=200)


@allow("seller")
async def start_handling(request: web.Request) -> web.Response:
    request.app[keys.SERVICE].start_handling(request[ACCOUNT], request.match_info["orderId"])
    return web.Response(status=204)


@allow("seller")
async def invoice(request: web.Request) -> web.Response:
    app = request.app
    body = await read_json(request, app[keys.SCHEMAS], "invoice.request")
    return _queued(request, app[keys.SERVICE].invoice(request[ACCOUNT], request.match_info["orderId"], body))


@allow("seller")
async def tracking(request: web.Request) -> web.Response:
    app = request.app
    body = await read_json(request, app[keys.SCHEMAS], "tracking.request")
    receipt = app[keys.SERVICE].tracking(request[ACCOUNT], request.match_info["orderId"],
                                         request.match_info["invoiceNumber"], body)
    return _queued(request, receipt)


@allow("seller")
async def register_change(request: web.Request) -> web.Response:
    app = request.app
    body = await read_json(request, app[keys.SCHEMAS], "change.request")
    return _queued(request, app[keys.SERVICE].register_change(request[ACCOUNT], request.match_info["orderId"], body))


def _queued(request: web.Request, receipt: dict) -> web.Response:
    request.app[keys.DISPATCHER].wake()  # whatever the call queued goes out now
    return json_response(receipt)


def setup_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/oms/pvt/orders", list_orders, name="list-orders")
    r.add_get("/api/oms/pvt/orders/order-group/{orderGroup}", get_order_group, name="get-order-group")
    r.add_get("/api/oms/pvt/orders/{orderId}", get_order, name="get-order")
    r.add_post("/api/oms/pvt/orders/{orderId}/cancel", cancel_order, name="cancel-order")
    r.add_post("/api/oms/pvt/orders/{orderId}/start-handling", start_handling, name="start-handling")
    r.add_post("/api/oms/pvt/orders/{orderId}/invoice", invoice, name="invoice")
    r.add_patch("/api/oms/pvt/orders/{orderId}/invoice/{invoiceNumber}", tracking, name="tracking")
    r.add_post("/api/oms/pvt/orders/{orderId}/changes", register_change, name="register-change")
    r.add_post("/api/orders/pvt/document/{orderId}/deny-cancellation-request", deny_cancellation,
               name="deny-cancellation")
