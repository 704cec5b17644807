"""The SQLite store: WAL journal, every write on one connection, used from the event loop's thread.

Almost every call is a few microseconds of local I/O, so the store is called synchronously; a
transaction therefore never interleaves with another request's, which is what makes placement
atomic and two racing identical placements create one order. ``synchronous=NORMAL`` in WAL mode
keeps every committed transaction through a crash of the process (``kill -9``); ``full`` also
through a power cut, at the price of an fsync per commit.

Group commit. A COMMIT costs hundreds of microseconds on a real disk, more than everything else
a placement does. Once ``start_group_commit`` has run (the server does it), transactions are
SAVEPOINTs inside one open write transaction that is committed once per turn of the event loop;
each transaction is still all-or-nothing on its own, and ``await durable()`` returns once
everything written so far is committed. The server awaits it before every reply, so nothing is
acknowledged before it is on disk. New rows (orders, client terms, timers) are held in memory and
inserted a table at a time as the batch commits (store/held.py); a transaction opens its
SAVEPOINT only when it runs a statement of its own, and a placement usually runs none. WAL
checkpoints (the fsyncs) run in a background thread on their own connection instead of stalling
whichever request crossed the threshold; when the log passes its cap, the next batch waits for
one of them so that the log starts over (store/wal.py). A list, whose statistics read every
order it matches, is read on a third connection and thread (store/reader.py), with the SQL of
store/listing.py. The tables and their migrations are in store/schema.py.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from contextlib import contextmanager
from typing import Any, Iterable, Iterator

from simulator.clock import iso
from simulator.jsontext import dumps_bytes, loads
from simulator.domain.orders import Order
from simulator.domain.workflow import Kind
from simulator.store.held import HeldRows
from simulator.store.base import ANY_ORDER, Delivery, JournalEntry, Kept, Listing, OrderFilter, Playback, Timer
from simulator.store.listing import client_terms, listing_facts, read_listing, utm_source
from simulator.store.lock import LOCK_WAIT_SECONDS, DatabaseInUse, serve_alone
from simulator.store.schema import SCHEMA, migrate
from simulator.store.stock import StockRows
from simulator.store import wal
from simulator.store.reader import Reader

__all__ = ["DatabaseInUse", "SqliteStore"]

log = logging.getLogger("moisim.store")


def _text(value: Any) -> bytes:
    """A document as UTF-8 JSON for a TEXT column, bound as ``CAST(? AS TEXT)``. Handing sqlite3 a
    ``str`` instead costs two passes over every byte (decode orjson's bytes, encode them back to
    UTF-8) once the text holds a single non-ASCII character, and product names have accents."""
    return dumps_bytes(value)


_BODY_FROM, _REPLY_FROM = "~bodyFrom", "~replyFrom"  # in a journal entry's data: where the text is kept

_ORDER_COLUMNS = ("account, order_id, kind, order_group, parent_id, status, affiliate_id, marketplace_order_group,"
                  " creation_date, doc, placement, value, total_items, sequence")
_ORDER_VALUES = "?,?,?,?,?,?,?,?,?,CAST(? AS TEXT),CAST(? AS TEXT),?,?,?"
# A new order: an order id that exists already is an error, never overwritten. It is not yet
# authorized or invoiced, so of the list's filter columns only utm_source is known (placement is
# on every request's path: it binds no more than it must).
_INSERT_ORDER = f"INSERT INTO orders ({_ORDER_COLUMNS}, utm_source) VALUES ({_ORDER_VALUES},?)"
# An upsert, not INSERT OR REPLACE: a replace deletes the row and rewrites every index.
_UPSERT_ORDER = (f"INSERT INTO orders ({_ORDER_COLUMNS}, authorized_at, invoiced_at, input_invoice, utm_source)"
                 f" VALUES ({_ORDER_VALUES},?,?,?,?) ON CONFLICT (account, order_id) DO UPDATE SET status=excluded.status,"
                 " doc=excluded.doc, placement=COALESCE(excluded.placement, placement), value=excluded.value,"
                 " total_items=excluded.total_items, authorized_at=excluded.authorized_at,"
                 " invoiced_at=excluded.invoiced_at, input_invoice=excluded.input_invoice")
_TERM_INSERT = "INSERT INTO client_terms (account, term, order_id) VALUES (?,?,?)"


class SqliteStore:
    def __init__(self, path: str = ":memory:", *, synchronous: str = "normal", journal_cap: int = 10000,
                 lock_wait: float = LOCK_WAIT_SECONDS) -> None:
        self.path = path
        self.journal_cap = journal_cap
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        try:
            self._lock = None if path == ":memory:" else serve_alone(path, lock_wait)
        except DatabaseInUse:
            self._conn.close()
            raise
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute(f"PRAGMA synchronous={'FULL' if synchronous == 'full' else 'NORMAL'}")
        self._conn.execute("PRAGMA foreign_keys=ON")
        # A request that runs statements is a SAVEPOINT inside the group's transaction, and SQLite
        # copies every page a savepoint changes into a statement journal; in a temporary file that
        # doubled the cost of a placement's writes, in memory it is a memcpy. Commits still go to
        # the WAL on disk.
        self._conn.execute("PRAGMA temp_store=MEMORY")
        self._conn.executescript(SCHEMA)
        migrate(self._conn)
        self._depth = 0
        self._journal_inserts = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._batch_open = False  # transactions have joined the batch: a flush is due
        self._batch_begun = False  # its BEGIN ran (not yet, while writes are held back: store/wal.py)
        self._holding_back: asyncio.TimerHandle | None = None  # writes held back for a WAL restart, until this fires
        self._closing = False
        self._waiters: list[asyncio.Future[None]] = []
        self._checkpointer: wal.Checkpointer | None = None
        self._reader: Reader | None = None  # long reads, off the loop (store/reader.py)
        self._sequences: dict[str, int] = {}  # the last number handed out, per sequences key
        self._sequences_unsaved: set[str] = set()
        self._journal_rows: list[tuple] = []  # group commit: written in one statement as the batch commits
        self._stock = StockRows()  # the stock rows read so far; moved rows are written as they commit
        self._held = HeldRows()  # new rows not inserted yet: written before the next statement runs
        self._tx_mark = 0  # rows held before the open transaction began (not its own)
        self._savepoint_due = False  # group commit: the transaction opens its SAVEPOINT at its first statement
        self._savepoint_open = False
        self._broken: BaseException | None = None  # held rows failed to write: the batch cannot commit

    def close(self) -> None:
        self._closing = True  # no WAL restart to wait for, nor to start: the store closes
        if self._holding_back is not None:
            self._holding_back.cancel()
            self._holding_back = None
        if self._batch_open:
            self._flush()
        if self._reader:
            self._reader.close()
        if self._checkpointer:
            self._checkpointer.stop()
        self._conn.close()
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None

    # --- transactions ----------------------------------------------------------------------
    @property
    def _db(self) -> sqlite3.Connection:
        """The connection, for any statement but the batch's own: every held row is written first,
        so the statement sees it, and a transaction that had not run a statement yet opens its
        SAVEPOINT now (one that runs none, as a placement usually does, needs none)."""
        if self._batch_open and not self._batch_begun:  # writes held back for a WAL restart: wait for it here
            self._stop_holding_back(wait=True)
            self._begin()
        if self._savepoint_due:
            self._open_savepoint()
        if self._held:
            self._write_held()
        return self._conn

    def _write_held(self, upto: int | None = None) -> None:
        try:
            self._held.write(self._conn, upto)
        except BaseException as exc:
            if self._loop is not None:  # rows of requests that finished are lost: their batch must fail
                self._broken = exc
            raise

    def _open_savepoint(self) -> None:
        self._savepoint_due = False
        earlier, self._tx_mark = self._tx_mark, 0  # every row held from here on is this transaction's
        if earlier:  # rows of transactions that finished go in before this one's SAVEPOINT
            self._write_held(earlier)
        self._conn.execute("SAVEPOINT tx")
        self._savepoint_open = True

    def _end_savepoint(self, rollback: bool) -> None:
        self._savepoint_due = False
        if rollback:
            self._held.drop_from(self._tx_mark)
        if self._savepoint_open:
            self._savepoint_open = False
            if rollback:
                self._conn.execute("ROLLBACK TO tx")
            self._conn.execute("RELEASE tx")

    def start_group_commit(self, loop: asyncio.AbstractEventLoop, *, wal_cap: int = wal.WAL_CAP,
                           checkpoint_every: float = 1.0) -> None:
        """Commit a batch per turn of ``loop``; checkpoint every ``checkpoint_every`` seconds on a
        thread, and start the log over when it passes ``wal_cap`` bytes (store/wal.py); read long
        lists on another (store/reader.py). A database in memory, or SQLite's private temporary one
        (path ""), has no file for another connection to open: it has neither."""
        self._loop = loop
        if self.path not in (":memory:", ""):
            self._conn.execute("PRAGMA wal_autocheckpoint=0")
            # The file is trimmed as the log starts over, if it grew past twice the cap: trimming it
            # on every restart cost the loop's thread 37 ms (ftruncate freeing the page cache).
            self._conn.execute(f"PRAGMA journal_size_limit={2 * int(wal_cap)}")
            self._checkpointer = wal.Checkpointer(self.path, checkpoint_every, wal_cap)
            self._reader = Reader(self.path)

    async def durable(self) -> None:
        """Return once everything written so far is committed."""
        if not self._batch_open:
            return
        assert self._loop is not None
        waiter = self._loop.create_future()
        self._waiters.append(waiter)
        await waiter

    def _flush(self) -> None:
        if not self._batch_open:  # flushed already (by close)
            return
        waiters, self._waiters = self._waiters, []
        self._batch_open = False
        try:
            self._begin()  # (held back for a WAL restart, the batch has not begun yet)
            broken, self._broken = self._broken, None
            if isinstance(broken, Exception):
                raise broken
            if broken is not None:  # KeyboardInterrupt, say: still, none of this batch commits
                raise sqlite3.OperationalError(f"rows of this batch could not be written ({broken!r})") from broken
            self._commit()
        except Exception as exc:  # e.g. a full disk: every reply waiting on this batch fails
            self._batch_begun = False
            self._discard()  # (done already if the commit itself failed; again is harmless)
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_exception(exc)
            return
        self._batch_begun = False
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)
        if self._checkpointer is not None and self._checkpointer.restart_wanted and not self._closing:
            self._hold_back()

    # --- starting the WAL over (store/wal.py) ----------------------------------------------
    def _hold_back(self) -> None:
        """Begin no write transaction until the checkpointer has copied every frame committed so
        far, so that the next one starts the log over; at most ``wal.MAX_HOLD`` seconds."""
        assert self._loop is not None and self._checkpointer is not None
        loop = self._loop
        self._holding_back = loop.call_later(wal.MAX_HOLD, self._stop_holding_back)
        self._checkpointer.catch_up(lambda: loop.call_soon_threadsafe(self._stop_holding_back))

    def _stop_holding_back(self, wait: bool = False) -> None:
        """The checkpoint ran (or ``wait`` for it here, as long as the hold has left): the batch
        that joined meanwhile begins and flushes."""
        timer, self._holding_back = self._holding_back, None
        if timer is None:
            return
        timer.cancel()
        if wait and self._checkpointer is not None and self._loop is not None:
            self._checkpointer.caught_up.wait(max(0.0, timer.when() - self._loop.time()))
        if self._loop is not None and self._checkpointer is not None:  # how long writes (and replies) waited
            held = wal.MAX_HOLD - max(0.0, timer.when() - self._loop.time())
            log.info("writes held for a WAL restart", extra={"fields": {
                "heldMs": round(held * 1000, 1), "caughtUp": self._checkpointer.caught_up.is_set()}})
        if self._batch_open and self._loop is not None:
            self._loop.call_soon(self._flush)

    def _begin(self) -> None:
        """The batch's write transaction, if it has not begun."""
        if not self._batch_begun:
            self._conn.execute("BEGIN IMMEDIATE")
            self._batch_begun = True

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All writes inside commit together or not at all; nested calls join the outer one."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        if self._loop is not None:
            yield from self._savepoint()
            return
        self._conn.execute("BEGIN IMMEDIATE")
        self._depth = 1
        self._tx_mark = len(self._held)
        self._stock.begin()
        try:
            yield
        except BaseException:
            self._depth = 0
            self._conn.execute("ROLLBACK")
            self._held.drop_from(self._tx_mark)
            self._stock.rollback()
            raise
        self._depth = 0
        self._stock.commit()
        self._commit()

    def _commit(self) -> None:
        """Write what waits for the commit (held rows, sequence numbers, moved stock rows, journal
        rows) and COMMIT; if any of it fails, ROLLBACK, forget all of it, and raise."""
        try:
            self._write_held()
            self._save_sequences()
            self._write_stock()
            self._write_journal()
            self._conn.execute("COMMIT")
        except BaseException:
            self._discard()
            raise
        self._stock.trim()

    def _discard(self) -> None:
        """ROLLBACK the write transaction, and forget what waited for its commit: the held rows,
        and the stock rows moved in memory (read again from the disk when next asked for)."""
        try:
            self._conn.execute("ROLLBACK")
        except sqlite3.Error:  # none open (it never began, or the commit's failure ended it)
            pass
        self._held.clear()
        self._stock.forget()

    def _open_batch(self) -> None:
        """Group commit: join the write transaction of this turn of the loop, opening it if needed
        (while writes are held back for a WAL restart, it begins when the hold ends)."""
        if self._loop is not None and not self._batch_open:
            if self._holding_back is None:
                self._begin()
                self._loop.call_soon(self._flush)
            self._batch_open = True

    def _savepoint(self) -> Iterator[None]:
        """Group commit: a transaction inside the batch's, all or nothing on its own. Its SAVEPOINT
        is opened by its first statement (``_db``); the rows it only held are dropped."""
        self._open_batch()
        self._depth = 1
        self._tx_mark = len(self._held)
        self._savepoint_due = True
        self._stock.begin()
        try:
            yield
        except BaseException:
            self._depth = 0
            self._end_savepoint(rollback=True)
            self._stock.rollback()
            raise
        self._depth = 0
        self._stock.commit()
        self._end_savepoint(rollback=False)

    def _hold(self, sql: str, params: tuple[Any, ...] | list[Any], order: tuple[str, str] | None = None) -> None:
        """Insert a new row with the batch, or with the transaction that runs (see store/held.py)."""
        self._held.add(sql, params, order)
        if not self._depth:  # on its own
            if self._loop is None:
                self._write_held()
            else:
                self._open_batch()

    # --- orders ----------------------------------------------------------------------------
    def get_order(self, account: str, order_id: str) -> Order | None:
        db = self._db if self._held.holds_order(account, order_id) else self._conn  # a read needs no SAVEPOINT
        row = db.execute("SELECT doc FROM orders WHERE account=? AND order_id=?", (account, order_id)).fetchone()
        return Order.from_doc(loads(row[0])) if row else None

    def save_order(self, order: Order, placement: bytes | None = None, *, new: bool = False) -> None:
        """Insert (``new``: an order id that exists already is an error, never overwritten) or
        update; ``placement`` is the place-order response kept with a new chain order. A new
        order's row and its client terms are held (store/held.py) and written with the batch."""
        row = (order.account, order.id, str(order.kind), order.order_group, order.parent_id, order.status,
               order.affiliate_id, order.marketplace_order_group, iso(order.creation_date), _text(order.to_doc()),
               placement, order.value, order.total_items, order.sequence)
        if not new:
            self._db.execute(_UPSERT_ORDER, (*row, *listing_facts(order)))
            return
        key = (order.account, order.id)
        if self._held.holds_order(*key):
            raise sqlite3.IntegrityError(f"UNIQUE constraint failed: orders.account, orders.order_id ({order.id})")
        self._hold(_INSERT_ORDER, (*row, utm_source(order)), key)
        if order.kind is Kind.CHAIN:
            for term in client_terms(order):
                self._hold(_TERM_INSERT, (order.account, term, order.id))

    def get_order_by_sequence(self, account: str, sequence: int) -> Order | None:
        row = self._db.execute("SELECT doc FROM orders WHERE account=? AND sequence=?", (account, sequence)).fetchone()
        return Order.from_doc(loads(row[0])) if row else None

    def orders_in_group(self, account: str, order_group: str) -> list[Order]:
        # A group's orders are its id plus "-01", "-02"...: a range of the primary key ("." follows "-").
        rows = self._db.execute(
            "SELECT doc FROM orders WHERE account=? AND order_id >= ? AND order_id < ? AND order_group=?"
            " AND kind='chain' ORDER BY order_id",
            (account, order_group + "-", order_group + ".", order_group),
        ).fetchall()
        return [Order.from_doc(loads(r[0])) for r in rows]

    def list_orders(self, account: str, where: OrderFilter = ANY_ORDER, *, descending: bool = True,
                    order_by: str = "creationDate", limit: int = 15, offset: int = 0) -> Listing:
        return read_listing(self._db, account, where, descending, order_by, limit, offset)

    async def list_orders_off_loop(self, account: str, where: OrderFilter = ANY_ORDER, *, descending: bool = True,
                                   order_by: str = "creationDate", limit: int = 15, offset: int = 0) -> Listing:
        """``list_orders``, read on the reader's thread (store/reader.py) once the server runs on a
        file: what is committed, while the loop goes on. In memory, on the loop's connection."""
        if self._reader is None:
            return self.list_orders(account, where, descending=descending, order_by=order_by, limit=limit,
                                    offset=offset)
        return await self._reader.run(lambda db: read_listing(db, account, where, descending, order_by, limit, offset))

    def next_sequence(self, account: str, series: str = "orders") -> int:
        """Numbers are handed out from memory and written once per commit: a number whose
        transaction rolls back is skipped, never handed out twice."""
        key = account if series == "orders" else f"{account}/{series}"  # account names have no "/"
        last = self._sequences.get(key)
        if last is None:
            row = self._db.execute("SELECT value FROM sequences WHERE account=?", (key,)).fetchone()
            last = int(row[0]) if row else 0
        self._sequences[key] = last + 1
        self._sequences_unsaved.add(key)
        if not self._depth and not self._batch_open:  # outside a transaction: saved at once
            self._save_sequences()
        return last + 1

    def _save_sequences(self) -> None:
        if self._sequences_unsaved:
            self._db.executemany("INSERT OR REPLACE INTO sequences (account, value) VALUES (?,?)",
                                 [(a, self._sequences[a]) for a in self._sequences_unsaved])
            self._sequences_unsaved.clear()

    def get_placement(self, account: str, order_id: str) -> str | None:
        row = self._db.execute("SELECT placement FROM orders WHERE account=? AND order_id=?",
                               (account, order_id)).fetchone()
        return row[0] if row else None

    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?,?)", (key, value))

    # --- stock -----------------------------------------------------------------------------
    # Rows are read into memory (StockRows) the first time a placement asks for their SKU, moved
    # there, and written with the transaction that moved them.
    def seed_stock(self, account: str, rows: Iterable[tuple[str, str, int]]) -> None:
        """Add stock rows that do not exist yet; existing ones (with their reservations) stay."""
        rows = list(rows)
        with self.transaction():
            self._db.executemany(
                "INSERT OR IGNORE INTO stock (account, store_id, sku, quantity) VALUES (?,?,?,?)",
                [(account, store, sku, qty) for store, sku, qty in rows],
            )
            for store, sku, qty in rows:
                self._stock.added(account, store, sku, qty)

    def free_stock(self, account: str, skus: Iterable[str]) -> dict[tuple[str, str], int]:
        """Free units of these SKUs in every franchise store, by (store id, SKU)."""
        wanted = list(dict.fromkeys(skus))
        self._load_stock(account, wanted)
        return self._stock.free(account, wanted)

    def _load_stock(self, account: str, skus: list[str]) -> None:
        """Read the rows of those SKUs that are not in memory yet, in one query."""
        missing = self._stock.missing(account, skus)
        if missing:
            rows = self._db.execute(
                f"SELECT store_id, sku, quantity, reserved FROM stock WHERE account=? AND sku IN ({','.join('?' * len(missing))})",
                [account, *missing]).fetchall()
            self._stock.load(account, missing, rows)

    def available(self, account: str, store_id: str, sku: str) -> int:
        return self.free_stock(account, [sku]).get((store_id, sku), 0)

    def move_stock(self, account: str, store_id: str, sku: str, *, reserved: int = 0, quantity: int = 0) -> None:
        self.move_stocks(account, [(store_id, sku, reserved, quantity)])

    def move_stocks(self, account: str, moves: Iterable[tuple[str, str, int, int]]) -> None:
        """Several (store id, SKU, change in reserved, change in quantity) moves in one call;
        neither figure goes below zero."""
        moves = list(moves)
        self._load_stock(account, list(dict.fromkeys(sku for _store, sku, _r, _q in moves)))
        for store_id, sku, reserved, quantity in moves:
            self._stock.move(account, store_id, sku, reserved, quantity)
        if not self._depth:  # outside a transaction: on its own
            if self._loop is None:
                self._write_stock()
            else:
                self._open_batch()

    def _write_stock(self) -> None:
        """The rows moved since the last write, one statement for all: a batch of placements of
        the same few SKUs writes each row once."""
        changed = self._stock.take_changes()
        if changed:
            self._db.executemany("UPDATE stock SET quantity=?, reserved=? WHERE account=? AND store_id=? AND sku=?",
                                 changed)

    def stock(self, account: str) -> list[dict[str, Any]]:
        self._write_stock()  # the rows moved in the open batch too
        rows = self._db.execute(
            "SELECT store_id, sku, quantity, reserved FROM stock WHERE account=? ORDER BY store_id, sku", (account,)
        ).fetchall()
        return [{"storeId": s, "sku": k, "quantity": q, "reserved": r, "available": q - r} for s, k, q, r in rows]

    # --- timers ----------------------------------------------------------------------------
    def add_timer(self, account: str, order_id: str, event: str, due_at: float) -> None:
        self._hold("INSERT INTO timers (account, order_id, event, due_at) VALUES (?,?,?,?)",
                   (account, order_id, event, due_at))

    def clear_timers(self, account: str, order_id: str) -> None:
        self._db.execute("DELETE FROM timers WHERE account=? AND order_id=?", (account, order_id))

    def due_timers(self, now: float, at_most: int) -> list[Timer]:
        rows = self._db.execute("SELECT id, account, order_id, event, due_at FROM timers WHERE due_at <= ? "
                                "ORDER BY due_at, id LIMIT ?", (now, at_most)).fetchall()
        return [Timer(*r) for r in rows]

    def delete_timer(self, timer_id: int) -> None:
        self._db.execute("DELETE FROM timers WHERE id=?", (timer_id,))

    def next_timer_at(self) -> float | None:
        row = self._db.execute("SELECT MIN(due_at) FROM timers").fetchone()
        return row[0]

    def count_due_timers(self, now: float) -> int:
        return self._db.execute("SELECT COUNT(*) FROM timers WHERE due_at <= ?", (now,)).fetchone()[0]

    # --- scenario playback on bound orders -------------------------------------------------
    def add_playback(self, account: str, order_id: str, scenario: str, step: int, start_on: str) -> None:
        self._db.execute("INSERT INTO playbacks (account, order_id, scenario, step, start_on) VALUES (?,?,?,?,?)",
                         (account, order_id, scenario, step, start_on))

    def playbacks_of(self, account: str, order_id: str) -> list[Playback]:
        rows = self._db.execute("SELECT id, account, order_id, scenario, step, start_on, due_at FROM playbacks "
                                "WHERE account=? AND order_id=? ORDER BY id", (account, order_id)).fetchall()
        return [Playback(*r) for r in rows]

    def due_playbacks(self, now: float) -> list[Playback]:
        rows = self._db.execute("SELECT id, account, order_id, scenario, step, start_on, due_at FROM playbacks "
                                "WHERE due_at <= ? ORDER BY due_at, id", (now,)).fetchall()
        return [Playback(*r) for r in rows]

    def next_playback_at(self) -> float | None:
        return self._db.execute("SELECT MIN(due_at) FROM playbacks").fetchone()[0]

    def move_playback(self, playback_id: int, step: int, due_at: float | None) -> None:
        self._db.execute("UPDATE playbacks SET step=?, due_at=? WHERE id=?", (step, due_at, playback_id))

    def delete_playback(self, playback_id: int) -> None:
        self._db.execute("DELETE FROM playbacks WHERE id=?", (playback_id,))

    # --- outbox ----------------------------------------------------------------------------
    def enqueue(self, account: str, order_id: str, kind: str, url: str, body: dict, reply_schema: str | None,
                now: float, ref: str | None = None) -> int:
        cur = self._db.execute(
            "INSERT INTO outbox (account, order_id, kind, url, body, reply_schema, state, attempts, next_attempt_at,"
            " created_at, ref) VALUES (?,?,?,?,CAST(? AS TEXT),?, 'pending', 0, ?, ?, ?)",
            (account, order_id, kind, url, _text(body), reply_schema, now, now, ref),
        )
        assert cur.lastrowid is not None  # an INSERT into a rowid table always sets it
        return cur.lastrowid

    _DELIVERY = ("SELECT id, account, order_id, kind, url, body, reply_schema, state, attempts, next_attempt_at,"
                 " created_at, ref, outcome, in_flight, in_flight_at FROM outbox")

    def ready_deliveries(self, now: float, exclude_orders: Iterable[tuple[str, str]] = (), limit: int = 100) -> list[Delivery]:
        """Pending deliveries due now that are the oldest pending one of their order."""
        excluded = set(exclude_orders)
        # Walks the pending index in due order and stops at the limit; the NOT EXISTS keeps each
        # order's callbacks in sequence. (A GROUP BY over every pending row cost ~0.6 ms a call
        # with 1000 queued, and the dispatcher asks after every attempt.)
        rows = self._db.execute(
            f"{self._DELIVERY} AS o WHERE state='pending' AND next_attempt_at <= ? AND NOT EXISTS (SELECT 1 FROM outbox p"
            " WHERE p.account=o.account AND p.order_id=o.order_id AND p.state='pending' AND p.id < o.id)"
            " ORDER BY next_attempt_at, id LIMIT ?",
            (now, limit + len(excluded)),
        ).fetchall()
        out = [self._delivery(r) for r in rows]
        return [d for d in out if (d.account, d.order_id) not in excluded][:limit]

    def next_delivery_at(self) -> float | None:
        row = self._db.execute("SELECT MIN(next_attempt_at) FROM outbox WHERE state='pending'").fetchone()
        return row[0]

    def settle_attempt(self, delivery_id: int, *, state: str, attempts: int, next_attempt_at: float,
                       outcome: dict[str, Any]) -> None:
        self._open_batch()  # one statement, atomic on its own: it joins the batch (and its journal rows)
        self._db.execute(
            "UPDATE outbox SET state=?, attempts=?, next_attempt_at=?, outcome=CAST(? AS TEXT), in_flight=NULL,"
            " in_flight_at=NULL"
            " WHERE id=?",
            (state, attempts, next_attempt_at, _text(outcome), delivery_id),
        )

    def mark_in_flight(self, attempts: Iterable[tuple[int, int]], at: float) -> None:
        """(delivery id, attempt number) pairs about to go out at ``at``: a restart finds them if they
        never came back (:meth:`interrupted`)."""
        self._open_batch()
        self._db.executemany("UPDATE outbox SET in_flight=?, in_flight_at=? WHERE id=?",
                             [(n, at, id_) for id_, n in attempts])

    def interrupted(self) -> list[Delivery]:
        """Deliveries with an attempt that went out and was never settled (the process stopped)."""
        rows = self._db.execute(f"{self._DELIVERY} WHERE in_flight IS NOT NULL ORDER BY id").fetchall()
        return [self._delivery(r) for r in rows]

    def deliveries(self, account: str, order_id: str | None = None) -> list[Delivery]:
        if order_id is None:
            rows = self._db.execute(f"{self._DELIVERY} WHERE account=? ORDER BY id", (account,)).fetchall()
        else:
            rows = self._db.execute(f"{self._DELIVERY} WHERE account=? AND order_id=? ORDER BY id",
                                    (account, order_id)).fetchall()
        return [self._delivery(r) for r in rows]

    def get_delivery(self, delivery_id: int) -> Delivery | None:
        row = self._db.execute(f"{self._DELIVERY} WHERE id=?", (delivery_id,)).fetchone()
        return self._delivery(row) if row else None

    def pending_count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM outbox WHERE state='pending'").fetchone()[0])

    @staticmethod
    def _delivery(row: tuple) -> Delivery:
        return Delivery(*row)

    # --- journal ---------------------------------------------------------------------------
    def journal_add(self, account: str, at: str, direction: str, kind: str, order_id: str | None, data: dict, *,
                    body: str | Kept | None = None, reply: str | Kept | None = None) -> None:
        """``body`` and ``reply`` are the texts that crossed the wire, kept as they are (not escaped
        into ``data``), or where the store already holds them (:class:`Kept`), not stored twice."""
        kept = {key: value.value for key, value in ((_BODY_FROM, body), (_REPLY_FROM, reply)) if isinstance(value, Kept)}
        if kept:
            data = {**data, **kept}
        self._journal_rows.append((account, at, direction, kind, order_id, _text(data),
                                   None if isinstance(body, Kept) else body, None if isinstance(reply, Kept) else reply))
        if self._loop is None:  # no group commit: written at once
            self._write_journal()
        else:  # with it, every entry of the batch in one statement just before the COMMIT
            self._open_batch()

    def _write_journal(self) -> None:
        if not self._journal_rows:
            return
        rows, self._journal_rows = self._journal_rows, []
        self._db.executemany("INSERT INTO journal (account, at, direction, kind, order_id, data, body, reply)"
                             " VALUES (?,?,?,?,?,CAST(? AS TEXT),?,?)", rows)
        self._journal_inserts += len(rows)
        # Trim in batches: the cap is kept to within 1 % without a DELETE per insert.
        if self._journal_inserts >= max(1, self.journal_cap // 100):
            self._journal_inserts = 0
            last = self._db.execute("SELECT MAX(id) FROM journal").fetchone()[0] or 0
            self._db.execute("DELETE FROM journal WHERE id <= ?", (last - self.journal_cap,))

    def journal(self, account: str, *, order_id: str | None = None, direction: str | None = None,
                kind: str | None = None, since: str | None = None, after: int = 0,
                limit: int = 100) -> list[JournalEntry]:
        self._write_journal()  # entries of the open batch too
        where, args = ["account=?", "id > ?"], [account, max(after, self._journal_floor())]
        for column, value in (("order_id", order_id), ("direction", direction), ("kind", kind)):
            if value is not None:
                where.append(f"{column}=?")
                args.append(value)
        if since is not None:
            where.append("at >= ?")
            args.append(since)
        rows = self._db.execute(
            f"SELECT id, account, at, direction, kind, order_id, data, body, reply FROM journal"
            f" WHERE {' AND '.join(where)} ORDER BY id LIMIT ?",
            args + [limit],
        ).fetchall()
        entries = []
        for id_, account_, at, direction_, kind_, order_id_, data, body, reply in rows:
            entry = JournalEntry(id_, account_, at, direction_, kind_, order_id_, loads(data))
            if entry.data.pop(_BODY_FROM, None) == Kept.DELIVERY:
                body = self._delivery_body(entry.data.get("deliveryId"))
            if body is not None:
                entry.data["body"] = body
            if entry.data.pop(_REPLY_FROM, None) == Kept.PLACEMENT:
                reply = self.get_placement(account_, order_id_ or "")
            if reply is not None:
                entry.data["reply"] = reply
            entries.append(entry)
        return entries

    def _delivery_body(self, delivery_id: Any) -> str | None:
        row = self._db.execute("SELECT body FROM outbox WHERE id=?", (delivery_id,)).fetchone()
        return row[0] if row else None


    def _journal_floor(self) -> int:
        """Entries below this id are over the cap (not yet trimmed): never shown."""
        row = self._db.execute("SELECT MAX(id) FROM journal").fetchone()
        return (row[0] or 0) - self.journal_cap
