"""A place-order request checked against the seller's configuration, before anything is stored.

The schema (``schemas/place-order.request.json``) has already vouched for the body's shape; these
checks need the configuration: the affiliate and its sales channel, a marketplace services
endpoint that callbacks can reach, and each item's seller, SKU, SLA and delivery channel. What
passes is a :class:`Line` per item, ready for routing to a franchise store.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from simulator.config import Config, Sku
from simulator.domain import render
from simulator.domain.errors import BadRequest
from simulator.domain.orders import MAX_VALUE, Item
from simulator.outbox import callbacks


def chain_order_id(affiliate_id: str, marketplace_order_group: str) -> str:
    """One chain order per (affiliate, marketplace order group), and its id says which: affiliate
    ids have no "-", so the id is unique exactly when the pair is (the store relies on it)."""
    return f"{affiliate_id}-{marketplace_order_group}-01"


@dataclass(slots=True)
class Line:
    """One item of the request, as the chain order will hold it once routed."""

    sku: str
    listed: bool  # in the catalog; an unlisted SKU (``placement.unknown-skus: accept``) has no stock rows yet
    quantity: int
    price: int
    seller: str
    name: str
    sla: str
    channel: str  # the SLA's delivery channel: delivery or pickup-in-point
    shipping: int
    unit: str
    multiplier: float
    window: dict[str, Any] | None
    sent: dict[str, Any] | None  # fields VTEX shows as the marketplace gave them (render.ITEM_FIELDS_AS_SENT)
    warnings: list[str]

    def item(self, store_id: str) -> Item:
        return Item(id=self.sku, quantity=self.quantity, price=self.price, seller=self.seller, name=self.name,
                    store_id=store_id, sla=self.sla, delivery_channel=self.channel, shipping_price=self.shipping,
                    measurement_unit=self.unit, unit_multiplier=self.multiplier, delivery_window=self.window,
                    sent=self.sent)


def check_channel(config: Config, affiliate_id: str | None, sales_channel: str | None) -> tuple[str, str]:
    """The query string's affiliate and sales channel: an affiliate of this seller, on its own channel."""
    if not affiliate_id:
        raise BadRequest("CHK0120", "Invalid affiliate id: the query string has no affiliateId")
    if affiliate_id not in config.affiliates:
        raise BadRequest("CHK0120", f"Invalid affiliate id: affiliateId {affiliate_id!r} is not an affiliate of "
                                    f"this seller (affiliates: {', '.join(sorted(config.affiliates))})")
    if config.affiliates[affiliate_id] != sales_channel:
        given = f"sc {sales_channel!r}" if sales_channel else "the query string has no sc"
        raise BadRequest("CHK0161", f"Invalid sales channel: {given}; affiliate {affiliate_id} sells on "
                                    f"sales channel {config.affiliates[affiliate_id]}")
    return affiliate_id, config.affiliates[affiliate_id]


def check_endpoint(endpoint: str) -> None:
    """Past the schema's pattern: a host and port that callbacks can use."""
    problem = callbacks.endpoint_problem(endpoint)
    if problem:
        raise BadRequest("CHK0146", f"Invalid marketplace services endpoint: marketplaceServicesEndpoint "
                                    f"{endpoint!r}: {problem}")


def check_items(config: Config, body: dict[str, Any]) -> list[Line]:
    """Seller, SKU, SLA and delivery channel of every item, and the value they add up to; a line
    per item to route."""
    logistics = _logistics_by_item(body)
    lines = []
    for index, item in enumerate(body["items"]):
        sku = item["id"]
        if item["seller"] != config.seller_id:
            raise BadRequest("CHK0024", f"Invalid seller for item: items[{index}].seller is {item['seller']!r}; "
                                        f"this seller is {config.seller_id!r}")
        product = config.catalog.get(sku)
        listed = product is not None
        if not listed and not config.accepts_unknown_skus:
            raise BadRequest("ORD027", f"Item {sku} not found or unavailable: items[{index}].id is not in the catalog")
        if product is None:
            if "price" not in item:
                raise BadRequest("SIM002", f"Invalid request body: items[{index}].price: is required for SKU {sku}, "
                                           "which is not in the catalog (its price is the one sent)")
            product = Sku.unlisted(sku, item["price"])
        info = logistics.get(index)
        if info is None:
            raise BadRequest("FMT004", f"There is no selected SLA for item {index}({sku}): add a "
                                       f"shippingData.logisticsInfo entry with itemIndex {index}")
        sla = config.slas.get(info["selectedSla"])
        if sla is None:
            raise BadRequest("FMT010", f"The selected SLA for item {index}({sku}) is not available: "
                                       f"selectedSla {info['selectedSla']!r} is not one of {sorted(config.slas)}")
        channel = info.get("selectedDeliveryChannel", sla.delivery_channel)
        if channel != sla.delivery_channel:
            raise BadRequest("FMT010", f"The selected SLA for item {index}({sku}) is not available: SLA "
                                       f"{sla.id!r} is {sla.delivery_channel}, not {channel}")
        price = item.get("price", product.price)
        warnings = []
        if price != product.price:
            warnings.append(f"items[{index}].price {price} differs from the catalog price {product.price} of SKU {sku}")
        lines.append(Line(sku=sku, listed=listed, quantity=item["quantity"], price=price, seller=item["seller"],
                          name=product.name, sla=sla.id, channel=channel, shipping=info.get("price", 0),
                          unit=product.measurement_unit, multiplier=product.unit_multiplier,
                          window=info.get("deliveryWindow"),
                          sent={k: item[k] for k in render.ITEM_FIELDS_AS_SENT if k in item} or None,
                          warnings=warnings))
    value = sum(line.price * line.quantity + line.shipping for line in lines)
    if value > MAX_VALUE:
        raise BadRequest("SIM002", f"Invalid request body: items: the order's value would be {value} cents, over "
                                   f"{MAX_VALUE} (2**53 - 1), the largest that every JSON reader keeps exact")
    return lines


def _logistics_by_item(body: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """Each item's ``shippingData.logisticsInfo`` entry, by item index: one at most, for an item
    that exists."""
    logistics: dict[int, dict[str, Any]] = {}
    for index, info in enumerate(body["shippingData"]["logisticsInfo"]):
        item_index = info["itemIndex"]
        if item_index >= len(body["items"]):
            raise BadRequest("ORD006", f"The shippingData.logisticsInfo[{index}].itemIndex field in the shipping "
                                       f"attachment is invalid: there is no items[{item_index}]")
        if item_index in logistics:
            raise BadRequest("ORD006", f"The shippingData.logisticsInfo[{index}].itemIndex field in the shipping "
                                       f"attachment is invalid: items[{item_index}] already has logistics info")
        logistics[item_index] = info
    return logistics
