"""Chain orders and franchise orders as plain data.

A chain order is what the marketplace placed on the level-2 store; each of its franchise orders
is the part of it that one level-3 franchise store fulfils. Both are ``Order``s; ``kind`` says
which. Money is in cents throughout. The store keeps an order as the JSON of ``to_doc``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from simulator.clock import iso, parse_iso
from simulator.domain.workflow import Kind, Status

# The largest order value, in cents: the largest integer a JSON reader that holds numbers as
# doubles (JavaScript's, say) still reads exactly, and far inside SQLite's 64-bit integers.
MAX_VALUE = 2**53 - 1


@dataclass(slots=True)
class Item:
    id: str  # SKU id
    quantity: int
    price: int  # unit price, cents
    seller: str
    name: str
    store_id: str  # the franchise store that fulfils it
    sla: str
    delivery_channel: str
    shipping_price: int = 0
    measurement_unit: str = "un"
    unit_multiplier: float = 1.0
    delivery_window: dict[str, Any] | None = None  # a scheduled delivery's window, as the marketplace sent it
    sent: dict[str, Any] | None = None  # fields VTEX shows that the marketplace gave: attachments, isGift...
    shipping_estimate_date: str | None = None  # VTEX's shippingEstimateDate: fixed when the order is authorized

    @property
    def total(self) -> int:
        return self.price * self.quantity


@dataclass(slots=True)
class Transition:
    """One status move, stored in the order's own timeline."""

    from_status: str | None
    to_status: str
    event: str
    at: datetime
    n: int = 0  # the account's move number: orders' timelines merge in the order the moves were made


@dataclass(slots=True)
class Order:
    account: str
    id: str
    kind: Kind
    order_group: str
    status: str | None
    sequence: int
    affiliate_id: str
    sales_channel: str
    marketplace_order_group: str
    marketplace_services_endpoint: str
    marketplace_payment_value: int
    creation_date: datetime
    last_change: datetime
    items: list[Item]
    client_profile: dict[str, Any]
    shipping_data: dict[str, Any]
    parent_id: str | None = None  # franchise order -> its chain order
    store_id: str | None = None  # franchise order -> its franchise store
    franchise_ids: list[str] = field(default_factory=list)  # chain order -> its franchise orders
    packages: list[dict[str, Any]] = field(default_factory=list)  # invoices, VTEX packageAttachment form
    changes: list[dict[str, Any]] = field(default_factory=list)  # change requests and outcomes
    cancellation: dict[str, Any] | None = None
    cancellation_request: dict[str, Any] | None = None
    authorization: dict[str, Any] | None = None
    discount: int = 0  # from accepted changes
    increment: int = 0
    warnings: list[str] = field(default_factory=list)
    marketing_data: dict[str, Any] | None = None  # the marketplace's marketingData (UTM, coupon), as sent
    open_text_field: dict[str, Any] | None = None  # the marketplace's openTextField ({"value": ...}), as sent
    timeline: list[Transition] = field(default_factory=list)

    # --- money ---------------------------------------------------------------------------
    @property
    def items_total(self) -> int:
        return sum([item.total for item in self.items])

    @property
    def shipping_total(self) -> int:
        return sum([item.shipping_price for item in self.items])

    @property
    def value(self) -> int:
        # One pass, not the two sums above: every save of an order stores its value.
        value = self.increment - self.discount
        for item in self.items:
            value += item.total + item.shipping_price
        return value

    @property
    def total_items(self) -> int:
        """Units ordered, as VTEX's order list counts them."""
        units = 0
        for item in self.items:
            units += item.quantity
        return units

    def invoiced_total(self, kind: str = "Output") -> int:
        return sum(p["invoiceValue"] for p in self.packages if p["type"] == kind)

    # --- timeline ------------------------------------------------------------------------
    def entered(self, status: str) -> datetime | None:
        """When the order last entered ``status``."""
        for move in reversed(self.timeline):
            if move.to_status == status:
                return move.at
        return None

    @property
    def authorized_date(self) -> datetime | None:
        """When the order was authorized (VTEX's ``authorizedDate``): the chain order's payment
        approval, the franchise order's entry into its cancellation window."""
        return self.entered(Status.PAYMENT_APPROVED if self.kind is Kind.CHAIN else Status.WINDOW_TO_CANCEL)

    @property
    def previous_status(self) -> str | None:
        return self.timeline[-1].from_status if self.timeline else None

    # --- persistence ---------------------------------------------------------------------
    def to_doc(self) -> dict[str, Any]:
        """A JSON-ready dict. Built field by field: ``dataclasses.asdict`` deep-copies every
        nested value, which made it the most expensive step of a placement."""
        doc = {name: getattr(self, name) for name in _PLAIN_FIELDS}
        doc["kind"] = str(self.kind)
        doc["creation_date"] = iso(self.creation_date)
        doc["last_change"] = iso(self.last_change)
        doc["items"] = [{name: getattr(item, name) for name in _ITEM_FIELDS} for item in self.items]
        doc["timeline"] = [
            {"from": t.from_status, "to": t.to_status, "event": t.event, "at": iso(t.at), "n": t.n}
            for t in self.timeline
        ]
        return doc

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> "Order":
        doc = dict(doc)
        doc["kind"] = Kind(doc["kind"])
        doc["creation_date"] = parse_iso(doc["creation_date"])
        doc["last_change"] = parse_iso(doc["last_change"])
        doc["items"] = [Item(**item) for item in doc["items"]]
        doc["timeline"] = [
            Transition(t["from"], t["to"], t["event"], parse_iso(t["at"]), t.get("n", 0)) for t in doc["timeline"]
        ]
        return cls(**doc)


@dataclass(frozen=True, slots=True)
class Figures:
    """One figure of a set of orders (their value in cents, or their number of items): what
    VTEX's list stats are computed from."""

    count: int = 0
    least: int = 0
    greatest: int = 0
    sum: int = 0
    sum_of_squares: int = 0


_ITEM_FIELDS = tuple(f.name for f in fields(Item))
_PLAIN_FIELDS = tuple(f.name for f in fields(Order)
                      if f.name not in ("kind", "creation_date", "last_change", "items", "timeline"))
