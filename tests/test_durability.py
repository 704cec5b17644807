"""Orders, stock, timers and the virtual clock survive a restart of the app on the same file."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from simulator.clock import VirtualClock
from simulator.http import create_app, keys
from tests import seeds
from tests.conftest import Sim, fail_next_commit, sim_config


async def test_everything_survives_a_restart(make_sim, tmp_path: Path) -> None:
    config = sim_config(store={"path": str(tmp_path / "moisim.db")})
    first = await make_sim(config)
    await first.place()
    await first.authorize(seeds.SEED_ORDER_ID, "externalMarketplace10")
    await first.advance(600)
    await first.client.close()

    second = await make_sim(config)
    chain = await second.order(seeds.SEED_ORDER_ID)
    assert chain["status"] == "payment-approved"
    reserved = {(s["storeId"], s["sku"]): s["reserved"] for s in second.store.stock("moisim")}
    assert reserved[("franquia-centro", "8")] == 1  # not re-seeded over the reservation
    # The virtual clock resumed where it was: 20 more minutes close the 30-minute window.
    result = await second.advance(20 * 60)
    assert result["transitions"] == 1
    assert (await second.order("FRC-" + seeds.SEED_ORDER_ID))["status"] == "ready-for-handling"
    status, body = await second.call("PUT", "/api/checkout/pvt/orders?sc=1&affiliateId=MKP", json=seeds.place_body())
    assert body["error"]["code"] == "FMT009"


async def test_a_virtual_clock_never_advanced_resumes_where_it_started(make_sim, tmp_path: Path, monkeypatch) -> None:
    """A virtual clock starts at the wall-clock time of its first run. Restarted a day later, it
    must not jump to that day: the placed order's timers would fire, its window close at once."""
    config = sim_config(store={"path": str(tmp_path / "moisim.db")})
    starts = iter([datetime(2026, 11, 23, 10, 0, tzinfo=UTC), datetime(2026, 11, 24, 10, 0, tzinfo=UTC)])
    monkeypatch.setattr("simulator.http.app.make_clock", lambda kind: VirtualClock(next(starts)))
    first = await make_sim(config)
    await first.place()
    await first.authorize(seeds.SEED_ORDER_ID, "externalMarketplace10")
    await first.client.close()

    second = await make_sim(config)  # its clock would start a day later
    _, clock = await second.call("GET", "/_sim/clock", role="admin", expect=200)
    assert clock["now"] == "2026-11-23T10:00:00.0000000+00:00"
    chain = await second.order(seeds.SEED_ORDER_ID)
    assert chain["status"] == "payment-approved"  # the 30-minute window is still open
    assert (await second.advance(30 * 60))["transitions"] == 1


@pytest.mark.parametrize("notice", [0, 1])
async def test_timers_that_fell_due_while_stopped_are_applied_before_it_is_ready(
        aiohttp_client, tmp_path: Path, caplog, monkeypatch, notice: int) -> None:
    """Stopped for 31 days (a real clock's restart, here two virtual clocks a month apart), the
    server applies the 30-day authorization timeout before it answers anything, and says so: after,
    and before too when there are more than STARTUP_NOTICE of them (a slow start says why)."""
    monkeypatch.setattr("simulator.scheduler.STARTUP_NOTICE", notice)
    config = sim_config(store={"path": str(tmp_path / "moisim.db")})
    first = Sim(await aiohttp_client(create_app(config, clock=VirtualClock(datetime(2026, 11, 1, tzinfo=UTC)))))
    await first.place()
    await first.client.close()

    caplog.set_level(logging.INFO, logger="moisim.scheduler")
    second = Sim(await aiohttp_client(create_app(config, clock=VirtualClock(datetime(2026, 12, 2, tzinfo=UTC)))))
    chain = await second.order(seeds.SEED_ORDER_ID)  # the first request after start
    assert chain["status"] == "canceled"
    assert chain["cancellationData"]["RequestedBySystem"] is True
    assert chain["lastChange"].startswith("2026-12-01")  # at its due time, not at the restart
    said = [(r.getMessage(), r.fields) for r in caplog.records  # type: ignore[attr-defined]
            if "fell due while moisim was stopped" in r.getMessage()]
    before = [("applying the timers that fell due while moisim was stopped", {"timers": 1})] if notice < 1 else []
    assert said[:-1] == before
    assert said[-1][0] == "applied the timers that fell due while moisim was stopped"
    assert said[-1][1]["transitions"] == 1


async def test_a_stop_ends_an_advance_at_its_next_step_and_a_restart_applies_the_rest(
        make_sim, tmp_path: Path, monkeypatch) -> None:
    """aiohttp waits up to 10 s for a request under way when the server stops: a long advance held
    Ctrl-C up that long. It now stops between two batches, answers 503 SIM014, and the restart
    applies what was left, each timer once."""
    monkeypatch.setattr("simulator.scheduler.TIMER_BATCH", 3)
    config = sim_config(store={"path": str(tmp_path / "moisim.db")})
    first = await make_sim(config)
    groups = [f"g-{i}" for i in range(10)]
    for group in groups:
        await first.place(group)
    fire = first.service.fire_due_timers
    batches: list[int] = []

    def stop_after_the_first_batch(at_most: int) -> tuple[int, int]:
        taken, moved = fire(at_most)
        if taken:
            batches.append(taken)
        if len(batches) == 1 and taken:
            asyncio.ensure_future(first.app.shutdown())  # as Ctrl-C does, before aiohttp waits for requests
        return taken, moved

    monkeypatch.setattr(first.service, "fire_due_timers", stop_after_the_first_batch)
    status, body = await first.call("POST", "/_sim/clock/advance", role="admin", json={"seconds": 31 * 86400})
    assert (status, body["error"]["code"]) == (503, "SIM014")
    assert "stopped with the clock at 2026-12-" in body["error"]["message"]  # 30 days on: the timeouts' moment
    assert batches[0] == 3 and sum(batches) < len(groups)
    canceled = [g for g in groups if first.store.get_order("moisim", f"MKP-{g}-01").status == "canceled"]
    assert 3 <= len(canceled) < len(groups)
    await first.client.close()

    second = await make_sim(config)
    for group in groups:
        assert (await second.order(f"MKP-{group}-01"))["status"] == "canceled"
        assert [d.kind for d in second.store.deliveries("moisim", f"MKP-{group}-01")] == ["seller-cancellation"]


@pytest.mark.parametrize("path,body,answer", [
    ("/_sim/clock/advance", {"seconds": 31 * 86400}, (503, "SIM014")),  # waiting for a moment's callbacks
    ("/_sim/outbox/drain", None, (200, {"settled": False})),
])
async def test_a_stop_does_not_wait_for_a_callback_a_request_is_waiting_on(make_sim, path: str, body: Any,
                                                                          answer: tuple[int, Any]) -> None:
    """An advance and a drain wait for the callbacks due; a stop cuts that wait short, rather than
    aiohttp waiting 10 s for them (here the attempt would take its 30 s timeout)."""
    connected = asyncio.Event()
    held: list[asyncio.StreamWriter] = []

    def never_answer(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        connected.set()

    silent = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    try:
        port = silent.sockets[0].getsockname()[1]
        sim = await make_sim(callbacks={"timeout": 30})
        await sim.place(endpoint=f"http://127.0.0.1:{port}")
        if body is None:  # the drain: the seller cancellation is queued, and only waits to be sent
            await sim.call("POST", f"/api/oms/pvt/orders/{seeds.SEED_ORDER_ID}/cancel", role="seller",
                           json={"reason": "out of stock"}, expect=200)
        waiting = asyncio.ensure_future(sim.call("POST", path, role="admin", json=body))
        await asyncio.wait_for(connected.wait(), 10)  # the seller cancellation is out, and never answered
        await sim.app.shutdown()
        status, reply = await asyncio.wait_for(waiting, 10)
        assert (status, reply["error"]["code"] if status >= 400 else reply) == answer
    finally:
        for writer in held:
            writer.close()
        silent.close()


async def test_a_stop_does_not_wait_for_a_body_that_never_arrives(sim: Sim) -> None:
    """A client that sent its headers and part of a body held a stop 5 s (aiohttp's shutdown
    timeout); the stop now cuts its connection. (What the server then journals is in test_cli:
    the test server cancels a handler whose client is gone, where moisim serve does not.)"""
    server = sim.client.server
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(b"PUT /api/checkout/pvt/orders?sc=1&affiliateId=MKP HTTP/1.1\r\nHost: x\r\n"
                 b"X-VTEX-API-AppKey: moisim-marketplace\r\nX-VTEX-API-AppToken: moisim-marketplace-secret\r\n"
                 b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"items\":")
    await writer.drain()

    async def reading() -> None:
        while not sim.app[keys.READING]:
            await asyncio.sleep(0)

    await asyncio.wait_for(reading(), 10)  # the handler waits for the rest of the body
    await sim.app.shutdown()
    assert await asyncio.wait_for(reader.read(), 10) == b""  # cut off, nothing answered
    writer.close()


async def test_a_failed_placement_leaves_nothing_behind(make_sim, monkeypatch) -> None:
    sim = await make_sim()
    calls = {"n": 0}
    original = sim.store.save_order

    def crash(order, placement=None, **kwargs):
        if placement is None:  # the franchise order: saved, its stock reserved
            return original(order, **kwargs)
        calls["n"] += 1  # the chain order, the last write of a placement
        raise RuntimeError("simulated crash in the middle of a placement")

    monkeypatch.setattr(sim.store, "save_order", crash)
    status, body = await sim.call("PUT", "/api/checkout/pvt/orders?sc=1&affiliateId=MKP", json=seeds.place_body())
    assert (status, body["error"]["code"]) == (500, "SIM500")
    assert "Traceback" not in str(body)
    assert calls["n"] == 1
    assert sim.store.list_orders("moisim").total == 0
    assert sim.store.get_order("moisim", "FRC-" + seeds.SEED_ORDER_ID) is None
    assert sum(s["reserved"] for s in sim.store.stock("moisim")) == 0
    monkeypatch.setattr(sim.store, "save_order", original)
    await sim.place()


async def test_a_database_written_by_0_1_is_migrated(make_sim, tmp_path: Path) -> None:
    """0.1 kept place-order responses in a table of their own, bodies and replies inside the journal's
    data, and moves in a transitions table: replays, the journal and the timeline still read right."""
    import json
    import sqlite3

    path = tmp_path / "old.db"
    config = sim_config(store={"path": str(path)}, placement={"duplicates": "replay"})
    first = await make_sim(config)
    original = await first.place()
    await first.authorize(seeds.SEED_ORDER_ID, "externalMarketplace10")
    _, view = await first.call("GET", f"/_sim/orders/{seeds.SEED_ORDER_ID}", role="admin", expect=200)
    await first.client.close()
    first.store.close()

    db = sqlite3.connect(path, isolation_level=None)  # rewrite it the way 0.1 stored it
    db.executescript("""
        CREATE TABLE placements (account TEXT NOT NULL, affiliate_id TEXT NOT NULL,
            marketplace_order_group TEXT NOT NULL, response TEXT NOT NULL,
            PRIMARY KEY (account, affiliate_id, marketplace_order_group));
        INSERT INTO placements SELECT account, affiliate_id, marketplace_order_group, placement FROM orders
            WHERE kind = 'chain';
        ALTER TABLE orders DROP COLUMN placement;
        ALTER TABLE journal DROP COLUMN body;
        ALTER TABLE journal DROP COLUMN reply;
        INSERT INTO journal (account, at, direction, kind, order_id, data) VALUES ('moisim',
            '2026-01-01T00:00:00.0000000+00:00', 'in', 'start-handling', 'MKP-x-01',
            '{"status":409,"body":"{\\"a\\":1}","reply":"{\\"error\\":{}}"}');
        CREATE TABLE transitions (id INTEGER PRIMARY KEY AUTOINCREMENT, account TEXT NOT NULL,
            order_id TEXT NOT NULL, from_status TEXT, to_status TEXT NOT NULL, event TEXT NOT NULL, at TEXT NOT NULL);
        DELETE FROM sequences WHERE account LIKE '%/moves';
    """)
    for order_id, doc in db.execute("SELECT order_id, doc FROM orders").fetchall():
        data = json.loads(doc)
        for move in data["timeline"]:  # 0.1 had no move numbers: the transitions table's ids ordered them
            db.execute("INSERT INTO transitions VALUES (?,?,?,?,?,?,?)", (move.pop("n"), "moisim", order_id,
                                                                      move["from"], move["to"], move["event"], move["at"]))
        db.execute("UPDATE orders SET doc=? WHERE order_id=?", (json.dumps(data), order_id))
    db.close()

    second = await make_sim(config)
    status, replay = await second.call("PUT", "/api/checkout/pvt/orders?sc=1&affiliateId=MKP", json=seeds.place_body())
    assert (status, replay) == (200, original)
    tables = {r[0] for r in sqlite3.connect(path).execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert not tables & {"placements", "transitions"}
    _, journal = await second.call("GET", "/_sim/journal?orderId=MKP-x-01", role="admin", expect=200)
    assert [(e["status"], e["body"], e["reply"]) for e in journal["entries"]] == [(409, {"a": 1}, {"error": {}})]
    _, migrated = await second.call("GET", f"/_sim/orders/{seeds.SEED_ORDER_ID}", role="admin", expect=200)
    assert migrated["timeline"] == view["timeline"]  # chain and franchise moves interleaved as they happened
    await second.call("POST", f"/api/oms/pvt/orders/{seeds.SEED_ORDER_ID}/cancel", role="seller", json={}, expect=200)
    _, later = await second.call("GET", f"/_sim/orders/{seeds.SEED_ORDER_ID}", role="admin", expect=200)
    assert later["timeline"][:len(view["timeline"])] == view["timeline"]  # new moves number after the old ones
    assert [t["to"] for t in later["timeline"][len(view["timeline"]):]] == ["canceled", "canceled"]


async def test_a_new_order_never_overwrites_one_with_the_same_id(sim) -> None:
    """A new order's row is written with its batch (store/held.py): one whose id is on disk
    already fails that batch's commit, and the order on disk stays as it was."""
    import sqlite3

    await sim.place()
    chain = sim.store.get_order("moisim", seeds.SEED_ORDER_ID)
    with sim.store.transaction():
        sim.store.save_order(chain, placement=b"{}", new=True)
    with pytest.raises(sqlite3.IntegrityError):
        await sim.store.durable()
    assert sim.store.get_placement("moisim", seeds.SEED_ORDER_ID) not in (None, "{}")
    assert sim.store.list_orders("moisim").total == 1


async def test_a_new_order_held_twice_in_one_batch_is_refused_at_once(sim) -> None:
    import sqlite3

    store = sim.store
    await sim.place()
    chain = store.get_order("moisim", seeds.SEED_ORDER_ID)
    chain.id = chain.id.replace("-01", "9-01")
    with store.transaction():
        store.save_order(chain, new=True)
    with pytest.raises(sqlite3.IntegrityError, match=chain.id):
        with store.transaction():
            store.save_order(chain, new=True)
    await store.durable()  # the first one commits; the refused one left nothing behind
    assert store.get_order("moisim", chain.id) is not None
    assert store.list_orders("moisim").total == 2


async def test_a_database_written_before_list_stats_gets_its_figures(make_sim, tmp_path: Path) -> None:
    """0.2 stored no value or unit count beside the order: the migration computes them from the
    documents, so the list's stats count the orders placed before the upgrade."""
    import sqlite3

    path = tmp_path / "old.db"
    config = sim_config(store={"path": str(path)})
    first = await make_sim(config)
    await first.place("before-1")
    body = seeds.place_body("before-2")
    body["items"][1]["quantity"] = 3
    await first.call("PUT", "/api/checkout/pvt/orders?sc=1&affiliateId=MKP", json=body, expect=200)
    _, before = await first.call("GET", "/api/oms/pvt/orders")
    await first.client.close()
    first.store.close()
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("DROP INDEX orders_chain_listing")  # 0.2's listing index, then 0.2's columns
    db.execute("CREATE INDEX orders_chain_listing ON orders (account, creation_date, order_id) WHERE kind = 'chain'")
    db.execute("ALTER TABLE orders DROP COLUMN value")
    db.execute("ALTER TABLE orders DROP COLUMN total_items")
    db.close()

    second = await make_sim(config)
    _, after = await second.call("GET", "/api/oms/pvt/orders")
    assert after["stats"] == before["stats"]
    from simulator.store.schema import LISTING_INDEX

    [(index,)] = sqlite3.connect(path).execute("SELECT sql FROM sqlite_master WHERE name='orders_chain_listing'")
    assert index == LISTING_INDEX  # the list reads its stats from the index alone
    assert after["stats"]["stats"]["totalValue"]["Sum"] == 132 + 372
    assert after["stats"]["stats"]["totalItems"]["Sum"] == 2 + 4


async def test_a_database_written_before_the_filter_columns_is_migrated(make_sim, tmp_path: Path, caplog) -> None:
    """A store written before the filter columns had the list read the documents; the migration
    writes the filter columns and the client terms for the orders placed before the upgrade."""
    import sqlite3

    path = tmp_path / "old.db"
    config = sim_config(store={"path": str(path)})
    first = await make_sim(config)
    await first.place("before-1", clientProfileData={"email": "ana@example.com", "firstName": "Ána", "lastName": "Lee"},
                      marketingData={"utmSource": "newsletter"})
    await first.authorize("MKP-before-1-01", "before-1")
    await first.place("before-2")
    queries = ["q=ÁNA%20LEE", "q=ana@example.com", "f_UtmSource=newsletter", "f_status=payment-approved",
               "f_authorizedDate=authorizedDate:[2000-01-01T00:00:00Z TO 2100-01-01T00:00:00Z]"]
    before = {q: (await first.call("GET", f"/api/oms/pvt/orders?{q}"))[1]["list"] for q in queries}
    assert all([o["orderId"] for o in found] == ["MKP-before-1-01"] for found in before.values()), before
    await first.client.close()
    first.store.close()
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("DROP INDEX orders_chain_listing")  # the listing index, columns and no client terms of that time
    db.execute("CREATE INDEX orders_chain_listing ON orders (account, creation_date, order_id, status, affiliate_id,"
               " value, total_items) WHERE kind = 'chain'")
    for column in ("authorized_at", "invoiced_at", "input_invoice", "utm_source"):
        db.execute(f"ALTER TABLE orders DROP COLUMN {column}")
    db.execute("DROP TABLE client_terms")
    db.close()

    with caplog.at_level("INFO", logger="moisim.store"):
        second = await make_sim(config)
    assert "the list's filter columns for 2 chain orders (once)" in caplog.text  # why that start-up took longer
    after = {q: (await second.call("GET", f"/api/oms/pvt/orders?{q}"))[1]["list"] for q in queries}
    assert after == before
    from simulator.store.schema import LISTING_INDEX

    [(index,)] = sqlite3.connect(path).execute("SELECT sql FROM sqlite_master WHERE name='orders_chain_listing'")
    assert index == LISTING_INDEX


@pytest.mark.parametrize("json_functions", [True, False])
async def test_a_database_written_before_sequence_lookups_is_migrated(make_sim, tmp_path: Path, monkeypatch, caplog,
                                                                      json_functions: bool) -> None:
    """Orders stored before the sequence column are found by seq{sequence} after the upgrade, and
    orders placed after it number on from them; with or without SQLite's JSON functions."""
    import sqlite3

    from simulator.store import sqlite as store_module

    path = tmp_path / "old.db"
    config = sim_config(store={"path": str(path)})
    first = await make_sim(config)
    await first.place("before-1")
    before = await first.order("FRC-MKP-before-1-01")
    await first.client.close()
    first.store.close()
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("DROP INDEX orders_by_sequence")
    db.execute("ALTER TABLE orders DROP COLUMN sequence")
    db.close()
    if not json_functions:  # as an SQLite built without them: json_extract fails
        real_connect = sqlite3.connect

        def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
            connection = real_connect(*args, **kwargs)
            connection.create_function("json_extract", 2, lambda *_: 1 / 0)
            return connection

        monkeypatch.setattr(store_module.sqlite3, "connect", connect)

    with caplog.at_level("INFO", logger="moisim.store"):
        second = await make_sim(config)
    assert "the sequence numbers of 2 orders, for seq{sequence} (once)" in caplog.text  # why start-up took longer
    assert await second.order(f"seq{before['sequence']}") == before
    await second.place("after-1")
    after = await second.order("MKP-after-1-01")
    assert int(after["sequence"]) > int(before["sequence"])
    assert await second.order(f"seq{after['sequence']}") == after
    indexes = {r[0] for r in sqlite3.connect(path).execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert "orders_by_sequence" in indexes


def test_a_database_file_has_one_store_at_a_time(tmp_path: Path) -> None:
    from simulator.store.sqlite import DatabaseInUse, SqliteStore

    first = SqliteStore(str(tmp_path / "m.db"))
    with pytest.raises(DatabaseInUse, match=r"waited 0\.2 s"):
        SqliteStore(str(tmp_path / "m.db"), lock_wait=0.2)
    first.close()
    SqliteStore(str(tmp_path / "m.db")).close()  # closing gives the file back
    # No file of that name, nothing to hold: in memory, and SQLite's private temporary database.
    for path in (":memory:", ""):
        one, two = SqliteStore(path), SqliteStore(path)
        one.close()
        two.close()


def test_a_store_waits_for_the_one_that_is_closing(tmp_path: Path) -> None:
    """The second store takes the file once the first lets go of it, within its lock_wait."""
    import threading

    from simulator.store.sqlite import SqliteStore

    first = SqliteStore(str(tmp_path / "m.db"))
    waiting = threading.Event()

    class Told(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "waiting up to" in record.getMessage():
                waiting.set()

    handler = Told()
    logger = logging.getLogger("moisim.store")
    level = logger.level
    logger.setLevel(logging.WARNING)  # whatever another test left the root logger at
    logger.addHandler(handler)
    opened: list[SqliteStore] = []
    second = threading.Thread(target=lambda: opened.append(SqliteStore(str(tmp_path / "m.db"), lock_wait=60)))
    try:
        second.start()
        assert waiting.wait(timeout=30)  # it found the file held and is waiting
        first.close()
        second.join(timeout=30)
        assert len(opened) == 1
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        for store in opened:
            store.close()


def test_a_checkpoint_that_fails_is_logged_once_and_never_ends_in_a_traceback(tmp_path: Path, monkeypatch) -> None:
    """The WAL checkpointer's thread meets the database file deleted under the server: each failure
    of a new kind is logged once (the WAL grows until a checkpoint succeeds), a success is told,
    and the last checkpoint, as the store closes, fails quietly instead of raising in its thread."""
    import sqlite3
    import threading

    from simulator.store.sqlite import SqliteStore
    from simulator.store.wal import Checkpointer

    raised: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: raised.append(args.exc_value))
    records: list[logging.LogRecord] = []

    class Kept(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler, logger = Kept(), logging.getLogger("moisim.store")
    monkeypatch.setattr(logger, "level", logging.INFO)  # whatever another test left it at
    logger.addHandler(handler)
    path = tmp_path / "m.db"
    store = SqliteStore(str(path))
    checkpointer = Checkpointer(str(path), interval=3600)  # checkpoints only when told, and as it stops
    try:
        store.set_meta("written", "before")
        working = sqlite3.connect(str(path), isolation_level=None)
        orphaned = sqlite3.connect(str(path), isolation_level=None)
        checkpointer.checkpoint(working)
        assert records == []  # a checkpoint that works says nothing
        path.unlink()
        checkpointer.checkpoint(orphaned)
        checkpointer.checkpoint(orphaned)
        warned = [r for r in records if r.levelno == logging.WARNING]
        assert len(warned) == 1, [r.getMessage() for r in records]
        assert "WAL checkpoint failed (disk I/O error)" in warned[0].getMessage()
        assert warned[0].fields["error"].startswith("SQLITE_IOERR")  # type: ignore[attr-defined]
        store.set_meta("written", "after")  # the server's own connection goes on meanwhile
        records.clear()
        fine = sqlite3.connect(str(tmp_path / "other.db"), isolation_level=None)
        checkpointer.checkpoint(fine)
        fine.close()
        assert [r.getMessage() for r in records] == ["WAL checkpoints succeed again"]
        records.clear()
        checkpointer.stop()  # its own connection's last checkpoint meets the deleted file
        assert not checkpointer._thread.is_alive()
        assert raised == []
        assert ["WARNING"] == [r.levelname for r in records]
        working.close()
        orphaned.close()
    finally:
        logger.removeHandler(handler)
        store.close()


async def test_a_commit_that_fails_keeps_nothing_and_the_next_one_goes_through(sim) -> None:
    """What a full disk does (seen on a 3 MiB tmpfs): the COMMIT fails. The request answers 500
    SIM500 saying its change was not stored, nothing of it stays, and moisim goes on."""
    store = sim.store
    real = store._conn
    fail_next_commit(store)
    status, body = await sim.call("PUT", "/api/checkout/pvt/orders?sc=1&affiliateId=MKP", json=seeds.place_body())
    assert (status, body["error"]["code"]) == (500, "SIM500")
    assert body["error"]["message"] == "Internal error in moisim: the change could not be stored"
    assert store._conn is real
    assert store.list_orders("moisim").total == 0
    assert sum(s["reserved"] for s in store.stock("moisim")) == 0
    await sim.place()  # no restart needed
    assert store.list_orders("moisim").total == 1


def test_a_file_system_without_flock_opens_the_store_unchecked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Some network file systems refuse flock (ENOLCK): the store opens anyway, as on Windows,
    and the descriptor it opened for the lock is not left behind."""
    import errno
    import fcntl
    import os

    from simulator.store.sqlite import SqliteStore

    def refuse(fd: int, operation: int) -> None:
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", refuse)
    before = len(os.listdir("/proc/self/fd"))
    store = SqliteStore(str(tmp_path / "m.db"))
    assert store._lock is None
    store.close()
    assert len(os.listdir("/proc/self/fd")) == before
