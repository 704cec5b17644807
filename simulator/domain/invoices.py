"""An invoice notification (``POST /api/oms/pvt/orders/{orderId}/invoice``) checked and recorded.

The schema (``schemas/invoice.request.json``) has already vouched for the body's shape; these
checks need the orders: an Output invoice needs an order (or franchise order) that may still be
invoiced, an Input (return) invoice an order that is invoiced. What passes becomes a package of
the chain order's ``packageAttachment``. The order service moves the orders an invoice completes
and queues the invoice callback.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from simulator.clock import iso
from simulator.domain.errors import BadRequest
from simulator.domain.orders import Order
from simulator.domain.workflow import FINAL, Event, Kind, Status, allows


def check_accepts(kind: str, order_id: str, target: Order, chain: Order, open_targets: list[Order],
                  declining: bool) -> None:
    """``ORD039`` unless the order can take an invoice of this ``kind`` now. ``open_targets`` are
    the franchise orders the invoice is for that are not invoiced yet; ``declining``: the invoice
    declines a pending cancellation request first, so a franchise order it holds in
    ``cancellation-requested`` counts as back in the state it came from."""
    if kind == "Input":
        if chain.status != Status.INVOICED:
            raise BadRequest("ORD039", f"Order {order_id} is in state {target.status} and cannot accept invoice: "
                                       "Input (return) invoices are accepted only once the order is invoiced")
        return

    def status_once_declined(franchise: Order) -> str | None:
        if declining and franchise.status == Status.CANCELLATION_REQUESTED:
            return franchise.previous_status
        return franchise.status

    blocked = [f for f in open_targets if not allows(Kind.FRANCHISE, status_once_declined(f), Event.INVOICE_FULL)]
    if not open_targets or blocked or chain.status in FINAL:
        state = blocked[0].status if blocked else (target.status if target.kind is Kind.FRANCHISE else chain.status)
        raise BadRequest("ORD039", f"Order {order_id} is in state {state} and cannot accept invoice")


def package(body: dict[str, Any], target: Order, receipt: str, now: datetime) -> dict[str, Any]:
    """The invoice as the chain order's ``packageAttachment`` keeps it."""
    return {
        "type": body["type"], "invoiceNumber": body["invoiceNumber"], "invoiceValue": int(body["invoiceValue"]),
        "issuanceDate": body["issuanceDate"], "invoiceKey": body.get("invoiceKey"),
        "invoiceUrl": body.get("invoiceUrl"), "embeddedInvoice": body.get("embeddedInvoice"),
        "courier": body.get("courier") or "", "trackingNumber": body.get("trackingNumber") or "",
        "trackingUrl": body.get("trackingUrl") or "", "dispatchedDate": body.get("dispatchedDate"),
        "items": [{"id": i["id"], "price": i["price"], "quantity": i["quantity"],
                   "description": i.get("description")} for i in body["items"]],
        "franchiseOrderId": target.id if target.kind is Kind.FRANCHISE else None,
        "receipt": receipt, "recordedAt": iso(now),
    }
