"""New rows held in memory until the store next runs a statement, then inserted a table at a time.

A placement inserts four rows (its chain order with the kept response, its franchise order, the
client's search terms, the authorization timer) and each ``execute`` cost more than the B-tree
work it did; each request also paid a SAVEPOINT and a RELEASE to be atomic on its own. Held here,
a batch of placements inserts each table's rows with one ``executemany`` just before its COMMIT,
and a placement that runs no statement of its own needs no SAVEPOINT: putting it back is dropping
the rows it held (``drop_from``).

Only inserts of new rows are held: nothing reads them before they are written, because the store
writes every held row before any other statement runs (``SqliteStore._db``), and the one read that
skips that, an order by its id, asks :meth:`holds_order` first. Rows of one table keep their order.

Plain data, no SQL but the ``executemany`` that writes them out.
"""

from __future__ import annotations

import sqlite3
from typing import Any

OrderKey = tuple[str, str]  # (account, order id)


class HeldRows:
    def __init__(self) -> None:
        self._rows: list[tuple[str, tuple[Any, ...] | list[Any], OrderKey | None]] = []
        self._orders: set[OrderKey] = set()  # the orders whose row is held

    def __len__(self) -> int:
        return len(self._rows)

    def add(self, sql: str, params: tuple[Any, ...] | list[Any], order: OrderKey | None = None) -> None:
        """Hold one row of ``sql`` (an INSERT of one row); ``order``: the order it inserts."""
        self._rows.append((sql, params, order))
        if order is not None:
            self._orders.add(order)

    def holds_order(self, account: str, order_id: str) -> bool:
        return bool(self._orders) and (account, order_id) in self._orders

    def drop_from(self, mark: int) -> None:
        """Forget the rows held since ``len(self)`` was ``mark`` (their transaction rolled back)."""
        if mark < len(self._rows):
            del self._rows[mark:]
            self._orders = {order for _sql, _params, order in self._rows if order is not None}

    def clear(self) -> None:
        self.drop_from(0)

    def write(self, db: sqlite3.Connection, upto: int | None = None) -> None:
        """Insert the rows held (the first ``upto`` of them), one ``executemany`` per statement, in
        the order each statement was first held. They are no longer held, even if this fails: the
        store then fails the whole batch they belong to."""
        if upto is None or upto >= len(self._rows):
            rows, self._rows = self._rows, []
            self._orders = set()
        else:
            rows, self._rows = self._rows[:upto], self._rows[upto:]
            self._orders = {order for _sql, _params, order in self._rows if order is not None}
        by_statement: dict[str, list[Any]] = {}
        for sql, params, _order in rows:
            by_statement.setdefault(sql, []).append(params)
        for sql, many in by_statement.items():
            db.executemany(sql, many)
