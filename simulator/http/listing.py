"""The query of ``GET /api/oms/pvt/orders``, read into the store's :class:`OrderFilter`.

Every filter VTEX documents for the list is either honoured or refused by name; none is
ignored, so a marketplace never reads an unfiltered list as a filtered one. Filters on data a
chain order does not carry (payment names, promotions, a call-center operator, inStore) select
no order, as VTEX's would for such orders.
"""

from __future__ import annotations

import re
from typing import Mapping

from simulator.clock import iso, parse_iso
from simulator.config import Config
from simulator.domain.errors import BadRequest
from simulator.store.base import OrderFilter

ORDER_FIELDS = ("creationDate", "orderId", "items", "totalValue", "origin", "status")  # VTEX's OrderField, and status
_RANGE = re.compile(r"^\s*(?P<field>\w+):\[(?P<a>[^\]]+?)\s+TO\s+(?P<b>[^\]]+?)\]\s*$")
# Filters on data that chain orders never carry: any value selects none.
_NEVER_CARRIED = ("f_paymentNames", "f_callCenterOperatorName", "f_RnB")
# VTEX's, not moisim's (yet): refused, never ignored.
_NOT_SUPPORTED = {
    "f_shippingEstimate": "moisim does not filter by shipping estimate",
    "searchField": "moisim searches with q (order id, email, document, client name)",
}
SUPPORTED = ("page, per_page, orderBy, q, f_status, f_creationDate, f_authorizedDate, f_invoicedDate, "
             "f_hasInputInvoice, f_affiliateId, f_salesChannel, salesChannelId, f_sellerNames, f_paymentNames, "
             "f_UtmSource, f_callCenterOperatorName, f_RnB, f_isInstore, incompleteOrders")


def order_filter(query: Mapping[str, str], config: Config) -> OrderFilter:
    """The filter a list query asks for; ``BadRequest`` (SIM008) naming the parameter otherwise."""
    for name, why in _NOT_SUPPORTED.items():
        if query.get(name):
            raise BadRequest("SIM008", f"Unsupported query parameter {name}: {why}; the list filters by {SUPPORTED}")
    nothing = any(query.get(name, "").strip() for name in _NEVER_CARRIED)
    nothing |= _flag(query, "f_isInstore") | _flag(query, "incompleteOrders")  # moisim's orders are neither
    sellers = _values(query, "f_sellerNames")
    if sellers and not {config.seller_name, config.seller_id} & set(sellers):
        nothing = True
    affiliates = _affiliates(query, config)
    return OrderFilter(
        statuses=tuple(_values(query, "f_status")),
        created=_range(query, "f_creationDate"), authorized=_range(query, "f_authorizedDate"),
        invoiced=_range(query, "f_invoicedDate"), affiliate_ids=affiliates,
        text=query.get("q", "").strip() or None, input_invoice=_flag(query, "f_hasInputInvoice"),
        utm_sources=tuple(_values(query, "f_UtmSource")), nothing=nothing)


def order_by(query: Mapping[str, str]) -> tuple[str, bool]:
    """The field to sort by and whether descending (VTEX's default: newest first)."""
    raw = query.get("orderBy", "creationDate,desc")
    field, _, direction = raw.partition(",")
    if field not in ORDER_FIELDS or direction.lower() not in ("", "asc", "desc"):
        raise BadRequest("SIM008", f"Invalid query parameter orderBy={raw!r}: use {'|'.join(ORDER_FIELDS)} "
                                   "followed by ,asc or ,desc")
    return field, direction.lower() != "asc"


def _values(query: Mapping[str, str], name: str) -> list[str]:
    return [v.strip() for v in query.get(name, "").split(",") if v.strip()]


def _flag(query: Mapping[str, str], name: str) -> bool:
    raw = query.get(name, "").strip()
    if raw.lower() in ("", "false"):
        return False
    if raw.lower() == "true":
        return True
    raise BadRequest("SIM008", f"Invalid query parameter {name}={raw!r}: use true or false")


def _affiliates(query: Mapping[str, str], config: Config) -> tuple[str, ...] | None:
    """f_affiliateId, narrowed by the sales channel (f_salesChannel or salesChannelId: moisim's
    sales channels are named by their ids) through the affiliates bound to it; None: any."""
    wanted = set(_values(query, "f_affiliateId")) or None  # empty, like f_status's: no filter
    channels = set(_values(query, "f_salesChannel")) | set(_values(query, "salesChannelId"))
    if channels:
        bound = {a for a, sc in config.affiliates.items() if sc in channels}
        wanted = bound if wanted is None else wanted & bound
    return None if wanted is None else tuple(sorted(wanted))


def _range(query: Mapping[str, str], name: str) -> tuple[str, str] | None:
    raw = query.get(name, "")
    if not raw:
        return None
    field = name.removeprefix("f_")
    match = _RANGE.match(raw)
    # VTEX's own example for f_authorizedDate is written creationDate:[...]; any date field's name is taken.
    if not match or match["field"] not in ("creationDate", "authorizedDate", "invoicedDate"):
        raise BadRequest("SIM008", f"Invalid query parameter {name}: use {field}:[FROM TO TO], e.g. "
                                   f"{field}:[2026-01-01T00:00:00.000Z TO 2026-01-31T23:59:59.999Z]")
    try:
        return iso(parse_iso(match["a"])) or "", iso(parse_iso(match["b"])) or ""
    except ValueError:
        raise BadRequest("SIM008", f"Invalid query parameter {name}: {raw!r} has a date that is not ISO 8601, or "
                                   "not between the years 1 and 9999 in UTC") from None
