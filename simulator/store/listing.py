"""The order list's SQL: its filters, its page and its statistics, all read from the listing
index (schema.LISTING_INDEX), and the facts of a chain order that the index and q's table hold."""

from __future__ import annotations

import sqlite3
from typing import Any

from simulator.clock import iso
from simulator.domain.orders import Figures, Order
from simulator.domain.workflow import Kind, Status
from simulator.jsontext import loads
from simulator.store.base import Listing, OrderFilter

# VTEX's OrderField values (and status, moisim's own); every chain order has the origin Chain, so
# sorting by it is sorting by the order id. Each is a column of the listing index.
ORDER_COLUMNS = {"creationDate": "creation_date", "orderId": "order_id", "items": "total_items", "totalValue": "value",
                 "origin": "order_id", "status": "status"}


# A list reads the listing index, whatever SQLite's planner would pick. Left to choose, it walked the
# primary key for a list in order id order (reading every order's row, franchise orders' too: 80-95
# ms for 25,000 chain orders, against 10-60 ms from the index), and took a new index on
# (account, sequence) for the stats, reading every row for their figures.
_LISTED = "orders INDEXED BY orders_chain_listing"


def _filter_sql(account: str, where: OrderFilter) -> tuple[str, list[Any]]:
    """The WHERE clause of a listing and its arguments. Every filter is a column of the listing
    index, and q a lookup in client_terms: a list never reads the order documents to filter."""
    terms, args = ["account=?", "kind='chain'"], [account]
    for column, values in (("status", where.statuses), ("affiliate_id", where.affiliate_ids),
                           ("utm_source", where.utm_sources)):
        if values:
            terms.append(f"{column} IN ({','.join('?' * len(values))})")
            args += values
    for column, bounds in (("creation_date", where.created), ("authorized_at", where.authorized),
                           ("invoiced_at", where.invoiced)):
        if bounds:
            terms.append(f"{column} BETWEEN ? AND ?")
            args += bounds
    if where.input_invoice:
        terms.append("input_invoice = 1")
    if where.text:
        # An order id, or a group: a chain order's id is its group's and "-01". Both are in the
        # listing index, so the list reads no order row to find them.
        terms.append("(order_id IN (?, ?) OR order_id IN (SELECT order_id FROM client_terms WHERE account = ? AND term = ?))")
        args += [where.text, where.text + "-01", account, where.text.casefold()]
    return " AND ".join(terms), args


def read_listing(db: sqlite3.Connection, account: str, where: OrderFilter, descending: bool, order_by: str,
             limit: int, offset: int) -> Listing:
    if where.selects_none:  # nothing to read
        return Listing([], 0, Figures(), Figures())
    clause, args = _filter_sql(account, where)
    value, items = _figures(db, clause, args)
    column = ORDER_COLUMNS.get(order_by, "creation_date")
    direction = "DESC" if descending else "ASC"
    rows = db.execute(
        f"SELECT doc FROM {_LISTED} WHERE {clause} ORDER BY {column} {direction}, order_id {direction} LIMIT ? OFFSET ?",
        args + [limit, offset],
    ).fetchall()
    return Listing([Order.from_doc(loads(r[0])) for r in rows], value.count, value, items)


def _figures(db: sqlite3.Connection, clause: str, args: list[Any]) -> tuple[Figures, Figures]:
    """Count, least, greatest, sum and sum of squares of the value and of the item count of every
    order the clause selects. Exact integers; should a sum pass 2**63 (orders worth more than
    about 30 million each), SQLite's SUM refuses and TOTAL's floating point is used."""
    columns = ", ".join(f"MIN({c}), MAX({c}), {{0}}({c}), {{0}}({c}*{c})" for c in ("value", "total_items"))
    sql = f"SELECT COUNT(*), {columns} FROM {_LISTED} WHERE {clause}"
    try:
        row = db.execute(sql.format("SUM"), args).fetchone()
    except sqlite3.OperationalError:  # integer overflow
        row = db.execute(sql.format("TOTAL"), args).fetchone()
    count, figures = row[0], [int(x or 0) for x in row[1:]]
    return Figures(count, *figures[:4]), Figures(count, *figures[4:])


def utm_source(order: Order) -> str | None:
    """The utmSource a chain order's marketplace sent; a franchise order is never listed: None."""
    if order.kind is not Kind.CHAIN:
        return None
    marketing = order.marketing_data
    utm = marketing.get("utmSource") if isinstance(marketing, dict) else None
    return utm if isinstance(utm, str) else None


def listing_facts(order: Order) -> tuple[str | None, str | None, int, str | None]:
    """A chain order's columns for the list's filters: when it last entered payment-approved and
    invoiced, whether it has a return (Input) invoice, the utmSource the marketplace sent.
    Franchise orders are not listed: nothing."""
    if order.kind is not Kind.CHAIN:
        return None, None, 0, None
    return (iso(order.authorized_date), iso(order.entered(Status.INVOICED)),
            int(any(p["type"] == "Input" for p in order.packages)), utm_source(order))


def client_terms(order: Order) -> set[str]:
    """What q finds a chain order by, besides its ids: the client's email, document, first, last and
    full name, casefolded as Python folds them (SQLite's lower() folds only ASCII: JOSÉ would miss
    José). The client does not change after placement, so these are written once."""
    profile = order.client_profile
    first, last = profile.get("firstName"), profile.get("lastName")
    full = " ".join(n for n in (first, last) if isinstance(n, str) and n)
    return {v.casefold() for v in (profile.get("email"), profile.get("document"), first, last, full)
            if isinstance(v, str) and v}

