"""Stock rows kept in memory (simulator/store/stock.py): what the store answers and what is on
disk stay the same through failed transactions, batches and restarts."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from simulator.store.sqlite import SqliteStore
from simulator.store.stock import StockRows
from tests import seeds
from tests.conftest import fail_next_commit

CENTRO = "franquia-centro"


def on_disk(path: Path) -> dict[tuple[str, str], tuple[int, int]]:
    """Every stock row as another connection reads it: (store id, SKU) -> (quantity, reserved)."""
    db = sqlite3.connect(path)
    try:
        return {(s, k): (q, r) for s, k, q, r in db.execute("SELECT store_id, sku, quantity, reserved FROM stock")}
    finally:
        db.close()


def seeded(path: Path | str = ":memory:") -> SqliteStore:
    store = SqliteStore(str(path))
    store.seed_stock("moisim", [(CENTRO, "8", 10), (CENTRO, "36", 3), ("franquia-norte", "8", 5)])
    return store


def test_a_transaction_that_fails_puts_back_the_stock_it_moved(tmp_path: Path) -> None:
    store = seeded(tmp_path / "s.db")
    store.move_stocks("moisim", [(CENTRO, "8", 2, 0)])  # outside a transaction: written at once
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.move_stocks("moisim", [(CENTRO, "8", 5, 0), (CENTRO, "36", 1, -1)])
            assert store.free_stock("moisim", ["8", "36"])[(CENTRO, "8")] == 3
            raise RuntimeError("the placement fails after reserving")
    assert store.free_stock("moisim", ["8", "36"]) == {(CENTRO, "8"): 8, (CENTRO, "36"): 3, ("franquia-norte", "8"): 5}
    assert on_disk(tmp_path / "s.db")[(CENTRO, "8")] == (10, 2)
    store.close()


def test_moves_never_take_a_figure_below_zero_and_a_store_without_the_row_is_left_alone() -> None:
    store = seeded()
    store.move_stocks("moisim", [(CENTRO, "36", -5, -7), ("franquia-norte", "36", 4, 0)])
    assert {(s["storeId"], s["sku"]): (s["quantity"], s["reserved"]) for s in store.stock("moisim")} == {
        (CENTRO, "8"): (10, 0), (CENTRO, "36"): (0, 0), ("franquia-norte", "8"): (5, 0)}
    store.close()


def test_rows_a_failed_transaction_inserted_are_not_kept_in_memory() -> None:
    """An unlisted SKU's rows are seeded inside the placement's transaction and read there: when it
    fails, they are gone from disk, and so from memory."""
    store = seeded()
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.seed_stock("moisim", [(CENTRO, "ABC-9", 4)])
            assert store.free_stock("moisim", ["ABC-9"]) == {(CENTRO, "ABC-9"): 4}
            raise RuntimeError("refused after seeding")
    assert store.free_stock("moisim", ["ABC-9"]) == {}
    with store.transaction():  # seeded for a SKU already read (as having no rows): it is seen at once
        store.seed_stock("moisim", [(CENTRO, "ABC-9", 4)])
    assert store.free_stock("moisim", ["ABC-9"]) == {(CENTRO, "ABC-9"): 4}
    store.close()


def test_a_batch_writes_each_moved_row_once_as_it_commits(tmp_path: Path) -> None:
    async def run() -> list[str]:
        store = seeded(tmp_path / "s.db")
        store.free_stock("moisim", ["8"])
        store.start_group_commit(asyncio.get_running_loop())
        statements: list[str] = []
        store._db.set_trace_callback(statements.append)
        for _ in range(5):  # five placements in one turn of the loop
            with store.transaction():
                store.move_stocks("moisim", [(CENTRO, "8", 1, 0)])
        assert on_disk(tmp_path / "s.db")[(CENTRO, "8")] == (10, 0)  # not committed yet
        assert [s["reserved"] for s in store.stock("moisim") if s["sku"] == "8" and s["storeId"] == CENTRO] == [5]
        await store.durable()
        store._db.set_trace_callback(None)
        assert on_disk(tmp_path / "s.db")[(CENTRO, "8")] == (10, 5)
        store.close()
        return statements

    statements = asyncio.run(run())
    assert len([s for s in statements if s.startswith("UPDATE stock")]) == 1, statements
    reopened = SqliteStore(str(tmp_path / "s.db"))
    assert reopened.free_stock("moisim", ["8"])[(CENTRO, "8")] == 5
    reopened.close()


async def test_stock_reserved_by_placements_is_on_disk_and_released_by_a_cancellation(make_sim, tmp_path: Path) -> None:
    from tests.conftest import sim_config

    path = tmp_path / "moisim.db"
    sim = await make_sim(sim_config(store={"path": str(path)}))
    await sim.place("g-1")
    await sim.place("g-2")
    assert on_disk(path)[(CENTRO, "8")][1] == 2
    await sim.call("POST", "/api/oms/pvt/orders/MKP-g-1-01/cancel", json={"reason": "changed my mind"}, expect=200)
    assert on_disk(path)[(CENTRO, "8")][1] == 1
    assert [s["reserved"] for s in sim.store.stock("moisim") if (s["storeId"], s["sku"]) == (CENTRO, "8")] == [1]


async def test_after_a_commit_that_fails_the_stock_is_what_is_on_disk(sim) -> None:
    """The batch's COMMIT fails (a full disk): the placement's reservation is not on disk, so the
    next placement must not see it either."""
    store = sim.store
    before = store.free_stock("moisim", ["8", "36"])
    fail_next_commit(store)
    status, body = await sim.call("PUT", "/api/checkout/pvt/orders?sc=1&affiliateId=MKP", json=seeds.place_body())
    assert (status, body["error"]["code"]) == (500, "SIM500")
    assert store.free_stock("moisim", ["8", "36"]) == before


def test_stock_rows_undo_in_reverse_order() -> None:
    rows = StockRows()
    rows.load("a", ["8"], [("s", "8", 10, 0)])
    rows.begin()
    rows.move("a", "s", "8", reserved=3, quantity=0)
    rows.move("a", "s", "8", reserved=-5, quantity=-20)  # clamped to (0, 0)
    rows.load("a", ["9"], [("s", "9", 1, 0)])
    rows.move("a", "s", "9", reserved=1, quantity=0)
    assert rows.free("a", ["8", "9"]) == {("s", "8"): 0, ("s", "9"): 0}
    rows.rollback()
    assert rows.free("a", ["8"]) == {("s", "8"): 10}
    assert rows.missing("a", ["8", "9"]) == ["9"]
    assert rows.take_changes() == [(10, 0, "a", "s", "8")]  # the row taken back, written as it is on disk


def test_past_a_commit_more_rows_than_the_limit_are_dropped_and_read_again(tmp_path: Path) -> None:
    """SKUs sent under unknown-skus: accept, or thousands of stores, must not grow the process for
    ever: over the limit, the rows held are dropped once everything moved is on disk."""
    store = seeded(tmp_path / "s.db")
    store._stock.max_rows = 1  # SKU 8 has two rows
    with store.transaction():
        store.move_stocks("moisim", [(CENTRO, "8", 1, 0)])
        assert store._stock.missing("moisim", ["8"]) == []  # held while the transaction runs
    assert store._stock.missing("moisim", ["8", "36"]) == ["8", "36"]
    assert on_disk(tmp_path / "s.db")[(CENTRO, "8")] == (10, 1)
    assert store.free_stock("moisim", ["8"]) == {(CENTRO, "8"): 9, ("franquia-norte", "8"): 5}
    store._stock.max_rows = 10
    with store.transaction():
        store.move_stocks("moisim", [(CENTRO, "8", 1, 0)])
    assert store._stock.missing("moisim", ["8"]) == []  # under the limit: kept
    store.close()
