"""Franchise stock in memory: the rows placements read and move, written back as they commit.

Reading a placement's SKUs and moving their reservations were two statements a placement (about a
tenth of its cost), and every placement of a batch moved the same few rows. The store keeps the
rows it has read here, moves them in memory, and writes each changed row once, with the
transaction that changed it (``SqliteStore._flush``): what is on disk and what is answered still
commit together. A transaction that fails puts back the rows it moved (``rollback``); a batch
whose commit fails takes everything back to what is on disk (``forget``).

Plain data, no SQL: the store loads rows into it and writes its changes out.
"""

from __future__ import annotations

from typing import Iterable

Key = tuple[str, str]  # (account, SKU)
# Rows held at most, past a commit: about 40 MB. The catalog's SKUs in a few stores fit many times
# over; SKUs sent under unknown-skus: accept, or thousands of stores, would otherwise only grow.
MAX_ROWS = 200_000


class StockRows:
    def __init__(self, max_rows: int = MAX_ROWS) -> None:
        self.max_rows = max_rows
        self._count = 0  # rows held
        # (account, SKU) -> franchise store id -> [quantity, reserved]; every store's row of a SKU
        # once it is loaded (an SKU no store stocks is loaded as no rows).
        self._rows: dict[Key, dict[str, list[int]]] = {}
        self._changed: set[tuple[str, str, str]] = set()  # (account, store id, SKU): not written yet
        # While a transaction runs, how to put back what it did, in the order it did it: (key, store
        # id, the row before) for a row it moved, (key, store id, None) for a row it added, (key,
        # None, None) for an SKU it loaded (the transaction may have inserted what was read).
        self._undo: list[tuple[Key, str | None, tuple[int, int] | None]] | None = None

    # --- reading -------------------------------------------------------------------------
    def missing(self, account: str, skus: Iterable[str]) -> list[str]:
        """The SKUs whose rows are not here yet, for the store to :meth:`load`."""
        return [sku for sku in skus if (account, sku) not in self._rows]

    def load(self, account: str, skus: Iterable[str], rows: Iterable[tuple[str, str, int, int]]) -> None:
        """Every row of these SKUs, as (store id, SKU, quantity, reserved); an SKU without rows has none."""
        for sku in skus:
            if (account, sku) not in self._rows:
                self._rows[(account, sku)] = {}
                if self._undo is not None:
                    self._undo.append(((account, sku), None, None))
        for store_id, sku, quantity, reserved in rows:
            if store_id not in self._rows[(account, sku)]:
                self._rows[(account, sku)][store_id] = [quantity, reserved]
                self._count += 1

    def free(self, account: str, skus: Iterable[str]) -> dict[tuple[str, str], int]:
        """Free units by (store id, SKU), of SKUs that are loaded."""
        return {(store_id, sku): row[0] - row[1] for sku in skus for store_id, row in self._rows[(account, sku)].items()}

    # --- changing ------------------------------------------------------------------------
    def move(self, account: str, store_id: str, sku: str, reserved: int, quantity: int) -> None:
        """Reserved and quantity move by these amounts, neither below zero; a store that has no row
        for the SKU (a loaded one) is left as it is, as SQL's UPDATE would leave it."""
        row = self._rows[(account, sku)].get(store_id)
        if row is None:
            return
        if self._undo is not None:
            self._undo.append(((account, sku), store_id, (row[0], row[1])))
        row[0], row[1] = max(0, row[0] + quantity), max(0, row[1] + reserved)
        self._changed.add((account, store_id, sku))

    def added(self, account: str, store_id: str, sku: str, quantity: int) -> None:
        """A row the store inserted (INSERT OR IGNORE: one that exists stays as it is)."""
        rows = self._rows.get((account, sku))
        if rows is None or store_id in rows:  # not loaded (read from disk when it is), or there already
            return
        rows[store_id] = [quantity, 0]
        self._count += 1
        if self._undo is not None:
            self._undo.append(((account, sku), store_id, None))

    def take_changes(self) -> list[tuple[int, int, str, str, str]]:
        """The rows moved since the last call, as (quantity, reserved, account, store id, SKU)."""
        changed, self._changed = self._changed, set()
        out = []
        for account, store_id, sku in changed:
            row = self._rows.get((account, sku), {}).get(store_id)
            if row is not None:  # None: taken back by a rollback, and not on disk either
                out.append((row[0], row[1], account, store_id, sku))
        return out

    # --- transactions --------------------------------------------------------------------
    def begin(self) -> None:
        self._undo = []

    def commit(self) -> None:
        self._undo = None

    def rollback(self) -> None:
        """Put back every row this transaction moved, added or loaded."""
        undo, self._undo = self._undo or [], None
        for key, store_id, old in reversed(undo):
            if store_id is None:
                self._count -= len(self._rows.pop(key))
            elif old is None:
                if self._rows[key].pop(store_id, None) is not None:
                    self._count -= 1
            else:
                self._rows[key][store_id][:] = old

    def forget(self) -> None:
        """Drop everything: the rows are read again from disk (after a rollback of the whole batch)."""
        self._rows.clear()
        self._changed.clear()
        self._undo = None
        self._count = 0

    def trim(self) -> None:
        """Past a commit (every moved row written, no transaction open): over ``max_rows``, drop
        them all; the SKUs still ordered are read again, one query each."""
        if self._count > self.max_rows and not self._changed and self._undo is None:
            self.forget()
