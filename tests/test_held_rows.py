"""New rows held until the batch commits (simulator/store/held.py): every statement and every read
sees them, a transaction that fails takes back only its own, and rows that cannot be written fail
their whole batch, never part of it."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

import pytest

from simulator.domain.orders import Order
from simulator.domain.workflow import Kind
from simulator.store.held import HeldRows
from simulator.store.sqlite import SqliteStore

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


def order(order_id: str, email: str = "ana@example.com") -> Order:
    return Order(account="moisim", id=order_id, kind=Kind.CHAIN, order_group=order_id.rsplit("-", 1)[0],
                 status="order-created", sequence=1000, affiliate_id="MKP", sales_channel="1",
                 marketplace_order_group=order_id, marketplace_services_endpoint="http://127.0.0.1:9/mkp",
                 marketplace_payment_value=0, creation_date=NOW, last_change=NOW, items=[],
                 client_profile={"email": email}, shipping_data={})


def on_disk(path: Path) -> dict[str, list[tuple]]:
    """What another connection reads: order ids, timers and client terms."""
    db = sqlite3.connect(path)
    try:
        return {
            "orders": [r[0] for r in db.execute("SELECT order_id FROM orders ORDER BY order_id")],
            "timers": [r for r in db.execute("SELECT order_id, event FROM timers ORDER BY id")],
            "terms": [r for r in db.execute("SELECT term, order_id FROM client_terms ORDER BY order_id")],
        }
    finally:
        db.close()


async def grouped(path: Path) -> SqliteStore:
    store = SqliteStore(str(path))
    store.start_group_commit(asyncio.get_running_loop())
    return store


async def test_a_failed_transaction_drops_only_the_rows_it_held(tmp_path: Path) -> None:
    store = await grouped(tmp_path / "s.db")
    try:
        with store.transaction():
            store.save_order(order("MKP-a-01"), placement=b'{"a":1}', new=True)
            store.add_timer("moisim", "MKP-a-01", "authorization-timeout", 1.0)
        with pytest.raises(RuntimeError):
            with store.transaction():
                store.save_order(order("MKP-b-01", "bia@example.com"), new=True)
                store.add_timer("moisim", "MKP-b-01", "authorization-timeout", 2.0)
                raise RuntimeError("refused after holding its rows")
        assert store.get_order("moisim", "MKP-a-01") is not None  # held, not written yet: found
        assert store.get_order("moisim", "MKP-b-01") is None
        await store.durable()
        assert on_disk(tmp_path / "s.db") == {
            "orders": ["MKP-a-01"], "timers": [("MKP-a-01", "authorization-timeout")],
            "terms": [("ana@example.com", "MKP-a-01")]}
        assert store.get_placement("moisim", "MKP-a-01") == '{"a":1}'
    finally:
        store.close()


async def test_a_statement_sees_the_held_rows_and_its_rollback_keeps_the_earlier_ones(tmp_path: Path) -> None:
    """A transaction that runs a statement opens its SAVEPOINT then: the rows held by transactions
    that finished go in before it, its own inside it."""
    store = await grouped(tmp_path / "s.db")
    try:
        with store.transaction():
            store.save_order(order("MKP-a-01"), new=True)
        with pytest.raises(RuntimeError):
            with store.transaction():
                store.save_order(order("MKP-b-01", "bia@example.com"), new=True)
                assert store.list_orders("moisim").total == 2  # a statement: both rows are written first
                store.save_order(order("MKP-a-01"), placement=None)  # an update, run at once
                store.save_order(order("MKP-c-01", "caio@example.com"), new=True)  # held inside the SAVEPOINT
                raise RuntimeError
        assert [o.id for o in store.list_orders("moisim").orders] == ["MKP-a-01"]
        await store.durable()
        assert on_disk(tmp_path / "s.db")["orders"] == ["MKP-a-01"]
        assert on_disk(tmp_path / "s.db")["terms"] == [("ana@example.com", "MKP-a-01")]
    finally:
        store.close()


async def test_rows_that_cannot_be_written_fail_their_whole_batch(tmp_path: Path) -> None:
    store = await grouped(tmp_path / "s.db")
    try:
        with store.transaction():
            store.save_order(order("MKP-a-01"), new=True)
        await store.durable()
        with store.transaction():
            store.save_order(order("MKP-b-01", "bia@example.com"), new=True)
        with store.transaction():
            store.save_order(order("MKP-a-01"), new=True)  # on disk already: refused when it is written
        with pytest.raises(sqlite3.IntegrityError):
            with store.transaction():
                store.list_orders("moisim")  # a statement writes the held rows first
        with pytest.raises(sqlite3.IntegrityError):
            await store.durable()  # MKP-b-01's reply must not say it was stored
        assert on_disk(tmp_path / "s.db")["orders"] == ["MKP-a-01"]
        with store.transaction():  # the next batch goes through
            store.save_order(order("MKP-b-01", "bia@example.com"), new=True)
        await store.durable()
        assert on_disk(tmp_path / "s.db")["orders"] == ["MKP-a-01", "MKP-b-01"]
    finally:
        store.close()


async def test_a_batch_whose_rows_were_cut_off_by_an_interrupt_still_fails_whole(tmp_path: Path) -> None:
    """Not only an error: whatever stops the held rows half-written (Ctrl-C inside executemany)
    fails their batch, and the replies waiting on it are answered, not left hanging."""
    store = await grouped(tmp_path / "s.db")
    real = store._conn

    class Interrupted:
        def __getattr__(self, name: str) -> object:
            return getattr(real, name)

        def executemany(self, sql: str, rows: object) -> None:
            raise KeyboardInterrupt

    try:
        with store.transaction():
            store.save_order(order("MKP-a-01"), new=True)
        store._conn = Interrupted()  # type: ignore[assignment]
        with pytest.raises(KeyboardInterrupt):
            store.list_orders("moisim")
        store._conn = real
        with pytest.raises(sqlite3.OperationalError, match="KeyboardInterrupt"):
            await store.durable()
        assert on_disk(tmp_path / "s.db")["orders"] == []
        with store.transaction():
            store.save_order(order("MKP-a-01"), new=True)
        await store.durable()
        assert on_disk(tmp_path / "s.db")["orders"] == ["MKP-a-01"]
    finally:
        store._conn = real
        store.close()


async def test_without_group_commit_held_rows_commit_with_their_transaction(tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "s.db"))
    try:
        with store.transaction():
            store.save_order(order("MKP-a-01"), new=True)
        assert on_disk(tmp_path / "s.db")["orders"] == ["MKP-a-01"]
        with pytest.raises(RuntimeError):
            with store.transaction():
                store.save_order(order("MKP-b-01"), new=True)
                raise RuntimeError
        store.add_timer("moisim", "MKP-a-01", "window-end", 3.0)  # outside a transaction: at once
        assert on_disk(tmp_path / "s.db") == {"orders": ["MKP-a-01"], "timers": [("MKP-a-01", "window-end")],
                                              "terms": [("ana@example.com", "MKP-a-01")]}
    finally:
        store.close()


async def test_placements_run_no_savepoint_and_commit_every_row(make_sim, tmp_path: Path) -> None:
    from tests.conftest import sim_config

    sim = await make_sim(sim_config(store={"path": str(tmp_path / "s.db")}))
    await sim.place("first")  # stock rows and sequences read
    ran: list[str] = []
    sim.store._conn.set_trace_callback(ran.append)
    groups = [f"g{i}" for i in range(4)]
    await asyncio.gather(*(sim.place(g) for g in groups))
    sim.store._conn.set_trace_callback(None)
    assert not [s for s in ran if "SAVEPOINT" in s or s.startswith("RELEASE")]
    stored = on_disk(tmp_path / "s.db")
    chains = [f"MKP-{g}-01" for g in groups]
    assert set(chains) <= set(stored["orders"])
    assert [t for t in stored["timers"] if t[0] in chains] == [(c, "authorization-timeout") for c in chains]
    assert {o for _t, o in stored["terms"]} >= set(chains)


def test_held_rows_are_written_a_statement_at_a_time_in_the_order_first_held() -> None:
    db = sqlite3.connect(":memory:", isolation_level=None)  # no implicit BEGIN in the trace
    db.execute("CREATE TABLE a (n INTEGER)")
    db.execute("CREATE TABLE b (n INTEGER)")
    ran: list[str] = []
    db.set_trace_callback(ran.append)
    held = HeldRows()
    for n in range(3):
        held.add("INSERT INTO a (n) VALUES (?)", (n,), ("moisim", f"o{n}"))
        held.add("INSERT INTO b (n) VALUES (?)", (n,))
    assert held.holds_order("moisim", "o2") and not held.holds_order("other", "o2")
    held.write(db, upto=4)  # a0 b0 a1 b1
    assert len(held) == 2 and held.holds_order("moisim", "o2") and not held.holds_order("moisim", "o1")
    assert [s.split()[2] for s in ran] == ["a", "a", "b", "b"]  # a's rows, then b's: one executemany each
    held.drop_from(1)  # b2 goes, a2 stays
    held.write(db)
    assert len(held) == 0 and not held.holds_order("moisim", "o2")
    assert [r[0] for r in db.execute("SELECT n FROM a")] == [0, 1, 2]
    assert [r[0] for r in db.execute("SELECT n FROM b")] == [0, 1]
