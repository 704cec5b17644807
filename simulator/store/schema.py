"""The store's tables and indexes, and the migrations that bring a database written by an
earlier moisim up to them. Each migration runs once, at start-up, in a transaction of its own."""

from __future__ import annotations

import logging
import sqlite3
import time
from contextlib import contextmanager
from typing import Iterator

from simulator.domain.orders import Order
from simulator.jsontext import dumps as _dumps, loads
from simulator.store.listing import client_terms, listing_facts

log = logging.getLogger("moisim.store")

SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    account TEXT NOT NULL,
    order_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    order_group TEXT NOT NULL,
    parent_id TEXT,
    status TEXT,
    affiliate_id TEXT NOT NULL,
    marketplace_order_group TEXT NOT NULL,
    creation_date TEXT NOT NULL,
    doc TEXT NOT NULL,
    placement TEXT,
    value INTEGER NOT NULL DEFAULT 0,
    total_items INTEGER NOT NULL DEFAULT 0,
    -- What the list filters by besides status, date and affiliate (see listing.listing_facts); in the
    -- listing index, so a filtered list never reads the documents.
    authorized_at TEXT,
    invoiced_at TEXT,
    input_invoice INTEGER NOT NULL DEFAULT 0,
    utm_source TEXT,
    sequence INTEGER,  -- the order's sequence number: GET /api/oms/pvt/orders/seq{sequence}
    PRIMARY KEY (account, order_id)
);
-- The list's q: a chain order's client email, document, first, last and full name, casefolded.
CREATE TABLE IF NOT EXISTS client_terms (
    account TEXT NOT NULL,
    term TEXT NOT NULL,
    order_id TEXT NOT NULL,
    PRIMARY KEY (account, term, order_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sequences (account TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS stock (
    account TEXT NOT NULL,
    store_id TEXT NOT NULL,
    sku TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    reserved INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (account, store_id, sku)
);
-- Placement asks for a few SKUs in every store: without this, a scan of all the account's stock
-- (a catalog of 20,000 SKUs in two stores: 40,000 rows a placement).
CREATE INDEX IF NOT EXISTS stock_by_sku ON stock (account, sku);
CREATE TABLE IF NOT EXISTS timers (
    id INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    order_id TEXT NOT NULL,
    event TEXT NOT NULL,
    due_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS timers_due ON timers (due_at);
CREATE INDEX IF NOT EXISTS timers_order ON timers (account, order_id);
CREATE TABLE IF NOT EXISTS playbacks (
    id INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    order_id TEXT NOT NULL,
    scenario TEXT NOT NULL,
    step INTEGER NOT NULL,
    start_on TEXT NOT NULL,
    due_at REAL
);
CREATE INDEX IF NOT EXISTS playbacks_order ON playbacks (account, order_id);
CREATE INDEX IF NOT EXISTS playbacks_due ON playbacks (due_at);  -- the scheduler's "what is due", as for timers
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account TEXT NOT NULL,
    order_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    url TEXT NOT NULL,
    body TEXT NOT NULL,
    reply_schema TEXT,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    created_at REAL NOT NULL,
    ref TEXT,
    outcome TEXT NOT NULL DEFAULT '{}',
    in_flight INTEGER,
    in_flight_at REAL
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (state, next_attempt_at) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS outbox_order ON outbox (account, order_id);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS journal (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account TEXT NOT NULL,
    at TEXT NOT NULL,
    direction TEXT NOT NULL,
    kind TEXT NOT NULL,
    order_id TEXT,
    data TEXT NOT NULL,
    body TEXT,
    reply TEXT
);
CREATE INDEX IF NOT EXISTS journal_order ON journal (account, order_id);
"""


# The order list reads only this index: the page's order, its filters (status, affiliate) and
# the figures of its stats. value and total_items sit after the order's document in the row, so
# without them here every list read a few KB of overflow pages per order (580 ms for the stats of
# 100,000 orders; 50 ms with them here).
LISTING_INDEX = ("CREATE INDEX orders_chain_listing ON orders (account, creation_date, order_id, status, affiliate_id,"
                 " value, total_items, authorized_at, invoiced_at, input_invoice, utm_source) WHERE kind = 'chain'")


# Partial, so that only a lookup by sequence can use it: as a whole index on (account, sequence)
# the planner took it for the list's account-wide stats and read every order's row, not the
# listing index alone.
SEQUENCE_INDEX = ("CREATE INDEX IF NOT EXISTS orders_by_sequence ON orders (account, sequence)"
                  " WHERE sequence IS NOT NULL")


def migrate(db: sqlite3.Connection) -> None:
    """Bring a database written by an earlier moisim up to this schema."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(orders)")}
    if "placement" not in columns:  # before 0.2 place-order responses had a table of their own
        db.execute("ALTER TABLE orders ADD COLUMN placement TEXT")
    if "value" not in columns:  # before 0.3 lists had no stats to compute from these
        db.execute("ALTER TABLE orders ADD COLUMN value INTEGER NOT NULL DEFAULT 0")
        db.execute("ALTER TABLE orders ADD COLUMN total_items INTEGER NOT NULL DEFAULT 0")
        figures = []  # a few numbers per order, not every order's document at once
        for (doc,) in db.execute("SELECT doc FROM orders"):
            order = Order.from_doc(loads(doc))
            figures.append((order.value, order.total_items, order.account, order.id))
        db.executemany("UPDATE orders SET value=?, total_items=? WHERE account=? AND order_id=?", figures)
    if "authorized_at" not in columns:  # written before the list had filter columns (it read the documents)
        _add_listing_facts(db)
    if "sequence" not in columns:  # written before orders were found by seq{sequence} as well as by id
        _add_sequences(db)
    db.execute(SEQUENCE_INDEX)
    listing = db.execute("SELECT sql FROM sqlite_master WHERE type='index' AND name='orders_chain_listing'").fetchone()
    if listing is None or listing[0] != LISTING_INDEX:  # 0.2's held only (account, creation_date, order_id)
        db.execute("DROP INDEX IF EXISTS orders_chain_listing")
        db.execute(LISTING_INDEX)
    # Before 0.2 two more indexes kept chain orders unique by (affiliate, group) and found groups;
    # the primary key does both, a chain order's id being "{affiliate}-{group}-01".
    db.execute("DROP INDEX IF EXISTS orders_chain_key")
    db.execute("DROP INDEX IF EXISTS orders_group")
    db.execute("DROP INDEX IF EXISTS orders_listing")  # 0.1 listed franchise orders' rows too; only chains are listed
    if db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='transitions'").fetchone():
        _number_old_moves(db)
    outbox_columns = {row[1] for row in db.execute("PRAGMA table_info(outbox)")}
    if "in_flight" not in outbox_columns:  # before 0.2
        db.execute("ALTER TABLE outbox ADD COLUMN in_flight INTEGER")
    if "in_flight_at" not in outbox_columns:  # older stores kept the attempt in flight, not when it went out
        db.execute("ALTER TABLE outbox ADD COLUMN in_flight_at REAL")
    columns = {row[1] for row in db.execute("PRAGMA table_info(journal)")}
    for column in ("body", "reply"):  # before 0.2 both were inside the data column
        if column not in columns:
            db.execute(f"ALTER TABLE journal ADD COLUMN {column} TEXT")
    if db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='placements'").fetchone():
        db.executescript(
            "BEGIN IMMEDIATE;"
            "UPDATE orders SET placement = (SELECT p.response FROM placements p WHERE p.account = orders.account"
            " AND p.affiliate_id = orders.affiliate_id AND p.marketplace_order_group = orders.marketplace_order_group)"
            " WHERE kind = 'chain' AND placement IS NULL;"
            "DROP TABLE placements;"
            "COMMIT;")


def _add_listing_facts(db: sqlite3.Connection) -> None:
    """The list's filter columns and client terms, from the documents of the chain orders (read one
    at a time: a store of 100,000 orders is never in memory at once), in one transaction."""
    started = time.monotonic()
    with _one_transaction(db):
        for column in ("authorized_at TEXT", "invoiced_at TEXT", "input_invoice INTEGER NOT NULL DEFAULT 0",
                       "utm_source TEXT"):
            db.execute(f"ALTER TABLE orders ADD COLUMN {column}")
        facts, terms = [], []
        for (doc,) in db.execute("SELECT doc FROM orders WHERE kind = 'chain'"):
            order = Order.from_doc(loads(doc))
            facts.append((*listing_facts(order), order.account, order.id))
            terms += [(order.account, term, order.id) for term in client_terms(order)]
        db.executemany("UPDATE orders SET authorized_at=?, invoiced_at=?, input_invoice=?, utm_source=?"
                       " WHERE account=? AND order_id=?", facts)
        db.executemany("INSERT OR IGNORE INTO client_terms (account, term, order_id) VALUES (?,?,?)", terms)
    _migrated(f"the list's filter columns for {len(facts)} chain orders", len(facts), started)


def _add_sequences(db: sqlite3.Connection) -> None:
    """The sequence column, from each order's document, in one transaction."""
    started = time.monotonic()
    with _one_transaction(db):
        db.execute("ALTER TABLE orders ADD COLUMN sequence INTEGER")
        try:
            count = db.execute("UPDATE orders SET sequence = json_extract(doc, '$.sequence')").rowcount
        except sqlite3.OperationalError:  # an SQLite built without JSON functions: read them here
            rows = [(loads(doc).get("sequence"), rowid) for rowid, doc in db.execute("SELECT rowid, doc FROM orders")]
            db.executemany("UPDATE orders SET sequence=? WHERE rowid=?", rows)
            count = len(rows)
    _migrated(f"the sequence numbers of {count} orders, for seq{{sequence}}", count, started)


@contextmanager
def _one_transaction(db: sqlite3.Connection) -> Iterator[None]:
    """A migration step commits whole or not at all: a server stopped half-way migrates again
    from the start next time."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _migrated(what: str, count: int, started: float) -> None:
    """A start-up that took seconds says why (nothing for a store that had nothing to migrate)."""
    if count:
        log.info("migrated the store: %s (once)", what,
                 extra={"fields": {"seconds": round(time.monotonic() - started, 1)}})


def _number_old_moves(db: sqlite3.Connection) -> None:
    """Before 0.2 moves were also rows of a transitions table, whose ids gave their order across
    orders. Each order's timeline gets those ids as its move numbers (the rows were written with
    the timeline entries, one for one), the move series continues after the largest, and the
    table goes."""
    ids: dict[tuple[str, str], list[int]] = {}
    for id_, account, order_id in db.execute("SELECT id, account, order_id FROM transitions ORDER BY id"):
        ids.setdefault((account, order_id), []).append(id_)
    with _one_transaction(db):
        for account, order_id, doc in db.execute("SELECT account, order_id, doc FROM orders").fetchall():
            numbers = ids.get((account, order_id), [])
            data = loads(doc)
            for index, move in enumerate(data["timeline"]):
                move["n"] = numbers[index] if index < len(numbers) else 0
            db.execute("UPDATE orders SET doc=? WHERE account=? AND order_id=?", (_dumps(data), account, order_id))
        for account, last in db.execute("SELECT account, MAX(id) FROM transitions GROUP BY account").fetchall():
            db.execute("INSERT OR REPLACE INTO sequences (account, value) VALUES (?,?)", (f"{account}/moves", last))
        db.execute("DROP TABLE transitions")
