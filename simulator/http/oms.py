"""OMS routes: read and list orders, cancel, and the seller's actions (start handling, invoice,
tracking, changes, cancellation decisions)."""

from __future__ import annotations

import math
import re

from aiohttp import web

from simulator.clock import iso, parse_iso
from simulator.domain import render
from simulator.domain.errors import BadRequest, NotFound
from simulator.http import keys
from simulator.http.bodies import read_json
from simulator.http.middleware import ACCOUNT, ROLE, allow
from simulator.http.render import json_response

READERS = ("marketplace", "seller")
_RANGE = re.compile(r"^\s*creationDate:\[(?P<a>[^\]]+?)\s+TO\s+(?P<b>[^\]]+?)\]\s*$")


@allow(*READERS)
async def get_order(request: web.Request) -> web.Response:
    app = request.app
    order = app[keys.SERVICE].order(request[ACCOUNT], request.match_info["orderId"])
    return json_response(render.order_json(order, app[keys.CONFIG]))


@allow(*READERS)
async def get_order_group(request: web.Request) -> web.Response:
    app = request.app
    group = request.match_info["orderGroup"]
    orders = app[keys.STORE].orders_in_group(request[ACCOUNT], group)
    if not orders:
        raise NotFound("CHK0199", f"Order Group {group} not found")
    return json_response([render.order_json(o, app[keys.CONFIG]) for o in orders])


def _int_param(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest("SIM008", f"Invalid query parameter {name}={raw!r}: an integer is expected") from None
    if not low <= value <= high:
        raise BadRequest("SIM008", f"Invalid query parameter {name}={raw!r}: it must be between {low} and {high}")
    return value


@allow(*READERS)
async def list_orders(request: web.Request) -> web.Response:
    app = request.app
    q = request.query
    page = _int_param(request, "page", 1, 1, 30)
    per_page = _int_param(request, "per_page", 15, 1, 100)
    statuses = [s for s in (q.get("f_status") or "").split(",") if s.strip()]
    created_from = created_to = None
    if q.get("f_creationDate"):
        match = _RANGE.match(q["f_creationDate"])
        if not match:
            raise BadRequest("SIM008", "Invalid query parameter f_creationDate: use creationDate:[FROM TO TO], e.g. "
                                       "creationDate:[2026-01-01T00:00:00.000Z TO 2026-01-31T23:59:59.999Z]")
        try:
            created_from, created_to = iso(parse_iso(match["a"])), iso(parse_iso(match["b"]))
        except ValueError:
            raise BadRequest("SIM008", f"Invalid query parameter f_creationDate: {q['f_creationDate']!r} has a date "
                                       "that is not ISO 8601, or not between the years 1 and 9999 in UTC") from None
    order_by = q.get("orderBy", "creationDate,desc")
    field, _, direction = order_by.partition(",")
    if field not in ("creationDate", "orderId", "status") or direction.lower() not in ("", "asc", "desc"):
        raise BadRequest("SIM008", f"Invalid query parameter orderBy={order_by!r}: use creationDate|orderId|status "
                                   "followed by ,asc or ,desc")
    listing = app[keys.STORE].list_orders(
        request[ACCOUNT], statuses=[s.strip() for s in statuses], created_from=created_from, created_to=created_to,
        affiliate_id=q.get("f_affiliateId") or None, descending=direction.lower() != "asc", order_by=field,
        limit=per_page, offset=(page - 1) * per_page)
    return json_response({
        "list": [render.list_entry(o) for o in listing.orders], "facets": [],
        "paging": {"total": listing.total, "pages": math.ceil(listing.total / per_page), "currentPage": page,
                   "perPage": per_page},
        "stats": render.list_stats(listing.value, listing.items),
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
