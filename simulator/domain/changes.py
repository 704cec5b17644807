"""An order change request (``POST /api/oms/pvt/orders/{orderId}/changes``, the seller's) checked
and planned.

The schema (``schemas/change.request.json``) has already vouched for the body's shape;
these checks need the order and the configuration: the units removed must be on the order, the
SKUs added in the catalog (or ``placement.unknown-skus: accept``), the new value between zero
and :data:`MAX_VALUE`, and a franchise store of the order must have the added units free. The
order service stores the change and queues its callback; the marketplace's answer applies it.
"""

from __future__ import annotations

from typing import Any

from simulator.config import Config, Sku
from simulator.domain.errors import BadRequest
from simulator.domain.orders import MAX_VALUE, Order
from simulator.store.base import Store


def change_item(config: Config, raw: dict[str, Any]) -> dict[str, Any]:
    """An added or removed line as the change keeps it, named and measured from the catalog."""
    sku = raw.get("id") or raw["sellerItemId"]  # the schema asks for one of the two
    product = config.catalog.get(sku) or Sku.unlisted(sku, raw["price"])
    return {"id": sku, "quantity": raw["quantity"], "price": raw["price"], "name": product.name,
            "unitMultiplier": raw.get("unitMultiplier", product.unit_multiplier),
            "measurementUnit": raw.get("measurementUnit", product.measurement_unit)}


def check_removals(chain: Order, removed: list[dict[str, Any]]) -> None:
    """Every unit removed is on the chain order; lines of one SKU add up."""
    asked: dict[str, int] = {}
    for index, item in enumerate(removed):
        have = sum(i.quantity for i in chain.items if i.id == item["id"])
        asked[item["id"]] = asked.get(item["id"], 0) + item["quantity"]
        if have < asked[item["id"]]:
            so_far = "" if asked[item["id"]] == item["quantity"] else f" ({asked[item['id']]} with the lines before it)"
            raise BadRequest("CHK0023", f"Invalid quantity for item: itemsRemoved[{index}] removes {item['quantity']} "
                                        f"of SKU {item['id']}{so_far}, the order has {have}")


def unlisted_skus(config: Config, added: list[dict[str, Any]]) -> list[str]:
    """The SKUs added that the catalog does not list: refused (``ORD027``) unless the
    configuration accepts unknown SKUs, in which case they get stock rows before planning."""
    unlisted = []
    for index, item in enumerate(added):
        if item["id"] not in config.catalog:
            if not config.accepts_unknown_skus:
                raise BadRequest("ORD027", f"Item {item['id']} not found or unavailable: itemsAdded[{index}].id is not "
                                           "in the catalog")
            unlisted.append(item["id"])
    return unlisted


def plan_additions(store: Store, chain: Order, franchises: list[Order],
                   added: list[dict[str, Any]]) -> list[Order] | int:
    """The franchise order each added item joins (one that has the SKU already, else one with
    the stock), counting the units that the change's earlier lines take from the same store;
    or the index of the first item no franchise store has enough free units for."""
    planned: dict[tuple[str, str], int] = {}
    plan: list[Order] = []
    for index, item in enumerate(added):
        ranked = sorted(franchises, key=lambda f: not any(i.id == item["id"] for i in f.items))
        for franchise in ranked:
            key = (franchise.store_id or "", item["id"])
            if store.available(chain.account, *key) - planned.get(key, 0) >= item["quantity"]:
                planned[key] = planned.get(key, 0) + item["quantity"]
                plan.append(franchise)
                break
        else:
            return index
    return plan


def check_free_units(store: Store, chain: Order, franchises: list[Order], added: list[dict[str, Any]]) -> None:
    """A franchise store of the order has the free units for every item added (checked again,
    and the units reserved, when the marketplace accepts the change)."""
    plan = plan_additions(store, chain, franchises, added)
    if isinstance(plan, int):
        item = added[plan]
        raise BadRequest("ORD027", f"Item {item['id']} not found or unavailable: no franchise store of this "
                                   f"order has {item['quantity']} more free unit(s) (itemsAdded[{plan}])")


def check_value(chain: Order, added: list[dict[str, Any]], removed: list[dict[str, Any]],
                body: dict[str, Any]) -> None:
    """The order's value once changed stays between zero and :data:`MAX_VALUE`."""
    delta = sum(i["price"] * i["quantity"] for i in added) - sum(i["price"] * i["quantity"] for i in removed)
    new_value = chain.value + delta - body["discountValue"] + body["incrementValue"]
    if new_value < 0:
        raise BadRequest("SIM009", f"discountValue {body['discountValue']} would take the order value below zero "
                                   f"({new_value})")
    if new_value > MAX_VALUE:
        raise BadRequest("SIM009", f"itemsAdded and incrementValue would take the order value to {new_value} "
                                   f"cents, over {MAX_VALUE} (2**53 - 1), the largest that every JSON reader "
                                   "keeps exact")
