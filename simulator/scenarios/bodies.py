"""Request bodies for scenario steps, built from a step's arguments and the order as it stands.

One builder per action, shared by the conformance runner (which sends them over HTTP) and by
playback on a running server (which hands them to the order service), so a step means the
same thing in both. ``order`` is the chain order in VTEX's shape (GET /api/oms/pvt/orders/{id}).
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

from simulator.config import Config

# The seed's example order (Place Multilevel Omnichannel Order), less the fields a run fills in.
DEFAULT_ITEMS = ({"id": "8", "quantity": 1}, {"id": "36", "quantity": 1})
SEED_SLAS = {"8": "Retirada (14b25e5)", "36": "Normal"}
ISSUANCE_DATE = "2019-02-07T02:00:00.000Z"  # the seed's


def place(config: Config, group: str, endpoint: str, order: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
    """The place-order body for the scenario's order (``order`` section), with a step's edits."""
    items = args.get("items") or order.get("items") or DEFAULT_ITEMS
    sla_for_all = args.get("sla") or order.get("sla")
    body_items, logistics = [], []
    for index, item in enumerate(items):
        sku = str(item["id"])
        product = config.catalog.get(sku)
        body_items.append({"id": sku, "quantity": item.get("quantity", 1), "seller": config.seller_id,
                           "price": item.get("price", product.price if product else 0)})
        sla_id = sla_for_all or SEED_SLAS.get(sku, "Normal")
        sla = config.slas.get(sla_id)
        logistics.append({"itemIndex": index, "selectedSla": sla_id,
                          "selectedDeliveryChannel": sla.delivery_channel if sla else "delivery", "price": 0})
    total = sum(i["price"] * i["quantity"] for i in body_items)
    body: dict[str, Any] = {
        "items": body_items,
        "clientProfileData": {"email": "sicrano@mailinator.com"},
        "shippingData": {"attachmentId": "shippingData", "logisticsInfo": logistics,
                         "selectedAddresses": [{"addressId": "-4581767308704"}]},
        "marketplacePaymentValue": total,
        "marketplaceOrderGroup": group,
        "marketplaceServicesEndpoint": endpoint,
    }
    for path in args.get("remove") or []:
        _edit(body, path, remove=True)
    for path, value in (args.get("set") or {}).items():
        _edit(body, path, value)
    return body


def _edit(body: Any, dotted: str, value: Any = None, remove: bool = False) -> None:
    """Set or remove ``a.b.0.c`` in ``body``; missing containers are created for a set."""
    parts = [int(p) if p.isdigit() else p for p in dotted.split(".")]
    node = body
    for part in parts[:-1]:
        if isinstance(part, int):
            node = node[part] if isinstance(node, list) and part < len(node) else None
        else:
            node = node.setdefault(part, {}) if isinstance(node, dict) else None
        if node is None:
            return
    last = parts[-1]
    if remove:
        if isinstance(node, dict):
            node.pop(last, None)
        elif isinstance(node, list) and isinstance(last, int) and last < len(node):
            node.pop(last)
    elif isinstance(node, dict):
        node[last] = copy.deepcopy(value)
    elif isinstance(node, list) and isinstance(last, int) and last < len(node):
        node[last] = copy.deepcopy(value)


def authorization(order: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
    return {"marketplaceOrderGroup": args.get("group") or order["marketplaceOrderGroup"],
            "authorizationReceipt": {"date": order.get("lastChange"), "receipt": uuid.uuid4().hex}}


def cancellation(args: dict[str, Any]) -> dict[str, Any]:
    return {"reason": args["reason"]} if args.get("reason") else {}


def invoice(order: dict[str, Any], args: dict[str, Any], number: str) -> dict[str, Any]:
    """An invoice for all items (default) or the ones named; the value adds up unless given."""
    prices = {str(i["id"]): i["price"] for i in order.get("items") or []}
    chosen = args.get("items", "all")
    if chosen == "all":
        lines = [{"id": str(i["id"]), "quantity": i["quantity"], "price": i["price"]} for i in order.get("items") or []]
        value = order["value"]
    else:
        lines = [{"id": str(i["id"]), "quantity": i.get("quantity", 1), "price": i.get("price", prices.get(str(i["id"]), 0))}
                 for i in chosen]
        value = sum(line["price"] * line["quantity"] for line in lines)
    body: dict[str, Any] = {"type": args.get("type", "Output"), "invoiceNumber": number,
                            "invoiceValue": args.get("value", value), "issuanceDate": ISSUANCE_DATE,
                            "items": lines}
    for key, field in (("tracking-number", "trackingNumber"), ("tracking-url", "trackingUrl"), ("courier", "courier")):
        if key in args:
            body[field] = args[key]
    return body


def tracking(args: dict[str, Any]) -> dict[str, Any]:
    return {"trackingNumber": args.get("number") or f"TRK-{uuid.uuid4().hex[:8]}",
            "trackingUrl": args.get("url"), "courier": args.get("courier") or "Correios",
            "dispatchedDate": ISSUANCE_DATE}


def last_invoice_number(order: dict[str, Any]) -> str | None:
    packages = (order.get("packageAttachment") or {}).get("packages") or []
    return str(packages[-1]["invoiceNumber"]) if packages else None


def change(config: Config, order: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
    prices = {str(i["id"]): i["price"] for i in order.get("items") or []}

    def line(item: dict[str, Any]) -> dict[str, Any]:
        sku = str(item["id"])
        product = config.catalog.get(sku)
        default_price = prices.get(sku, product.price if product else 0)
        return {"id": sku, "quantity": item.get("quantity", 1), "price": item.get("price", default_price)}

    return {"requestId": args.get("request-id") or uuid.uuid4().hex, "reason": args.get("reason", "scenario change"),
            "discountValue": args.get("discount", 0), "incrementValue": args.get("increment", 0),
            "itemsAdded": [line(i) for i in args.get("add") or []],
            "itemsRemoved": [line(i) for i in args.get("remove") or []]}


def denial(order: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
    requests = order.get("cancellationRequests") or []
    return {"cancellationRequestId": requests[-1]["id"] if requests else "none-pending",
            "denyReason": args.get("reason", "denied by scenario")}
