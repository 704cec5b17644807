"""Where every callback to the marketplace gets built: its URL and its body.

URLs follow decision 6 of the reference README: the route is appended to the path of the
order's ``marketplaceServicesEndpoint`` and its query string is kept::

    http://h/api/orders?parameter=value + /pvt/orders/G/changes
        -> http://h/api/orders/pvt/orders/G/changes?parameter=value
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from simulator.config import CallbackSettings
from simulator.domain.orders import Order

SELLER_CANCELLATION = "seller-cancellation"
INVOICE = "invoice"
CHANGE = "change"


@lru_cache(maxsize=1024)  # every placement asks, and a marketplace sends the same endpoint each time
def endpoint_problem(endpoint: str) -> str | None:
    """Why no callback could reach this marketplaceServicesEndpoint, or None: an http(s) URL with
    a host, a port from 1 to 65535 if it names one, and no spaces."""
    try:
        parts = urlsplit(endpoint)
    except ValueError:  # the one thing urlsplit refuses: "[" without "]"
        return "its IPv6 host has no closing ]"
    if parts.scheme not in ("http", "https"):
        return "it is not an http:// or https:// URL"
    if endpoint.split() != [endpoint]:  # whitespace anywhere (a C-speed check)
        return "it has a space in it"
    try:
        if parts.port == 0:
            return "its port is 0"
    except ValueError:
        return "its port is not a number from 1 to 65535"
    if not parts.hostname:
        return "it has no host"
    return None


@dataclass(frozen=True, slots=True)
class Callback:
    kind: str
    url: str
    body: dict[str, Any]
    reply_schema: str | None  # what a 2xx reply must look like; None: any 2xx will do
    ref: str | None = None


def join_endpoint(endpoint: str, route: str) -> str:
    base = urlsplit(endpoint)
    return urlunsplit((base.scheme, base.netloc, base.path.rstrip("/") + route, base.query, ""))


def _route(template: str, order: Order) -> str:
    values = {
        "marketplaceOrderGroup": order.marketplace_order_group,
        "marketplaceOrderId": order.marketplace_order_group,
        "orderId": order.id,
        "orderGroup": order.order_group,
    }
    return template.format(**{k: quote(v, safe="") for k, v in values.items()})


def seller_cancellation(settings: CallbackSettings, order: Order) -> Callback:
    url = join_endpoint(order.marketplace_services_endpoint, _route(settings.seller_cancellation, order))
    return Callback(SELLER_CANCELLATION, url, {"id": "sellerOrderCancelled", "sellerOrderId": order.id}, None)


def invoice(settings: CallbackSettings, order: Order, package: dict[str, Any]) -> Callback:
    """The seed's invoice body plus ``type``; tracking fields are empty until tracking is sent."""
    body = {
        "type": package["type"],
        "invoiceNumber": package["invoiceNumber"],
        "invoiceValue": package["invoiceValue"],
        "issuanceDate": package["issuanceDate"],
        "invoiceUrl": package.get("invoiceUrl"),
        "invoiceKey": package.get("invoiceKey"),
        "trackingNumber": package.get("trackingNumber") or "",
        "trackingUrl": package.get("trackingUrl") or "",
        "courier": package.get("courier") or "",
        "items": [{"id": i["id"], "price": i["price"], "quantity": i["quantity"]} for i in package["items"]],
    }
    url = join_endpoint(order.marketplace_services_endpoint, _route(settings.invoice, order))
    return Callback(INVOICE, url, body, "invoice.reply", package["invoiceNumber"])


def change(settings: CallbackSettings, order: Order, change: dict[str, Any]) -> Callback:
    """Exactly the change seed's body."""
    body = {
        "reason": change["reason"],
        "discountValue": change["discountValue"],
        "incrementValue": change["incrementValue"],
        "itemsRemoved": [_change_item(i) for i in change["itemsRemoved"]],
        "itemsAdded": [_change_item(i) for i in change["itemsAdded"]],
    }
    url = join_endpoint(order.marketplace_services_endpoint, _route(settings.change, order))
    return Callback(CHANGE, url, body, "change.reply", change["requestId"])


def _change_item(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "sellerItemId": item["id"],
        "quantity": item["quantity"],
        "price": item["price"],
        "unitMultiplier": item.get("unitMultiplier", 1.0),
        "measurementUnit": item.get("measurementUnit", "un"),
    }
