"""The write-ahead log starts over when it passes its cap, however steady the commits
(simulator/store/wal.py): the store holds its next write transaction back while the checkpointer
copies the last frames, and whatever runs meanwhile still runs.

The checkpointer's own rounds are switched off here (``checkpoint_every`` an hour): each test
runs the round itself, on its own connection, at the moment that makes the log starve, with a
write transaction open, as a steady load always has one."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import struct
from dataclasses import replace
from pathlib import Path
from typing import AsyncIterator

import pytest

from simulator.clock import VirtualClock
from simulator.domain.service import OrderService
from simulator.http.app import open_store
from simulator.store import wal
from simulator.store.sqlite import SqliteStore
from tests import seeds
from tests.conftest import sim_config

CAP = 64 * 1024  # bytes: a few placements


def restarts(path: Path) -> int:
    """The WAL header's checkpoint sequence number: one more each time the log starts over."""
    with open(f"{path}-wal", "rb") as log:
        return int(struct.unpack(">I", log.read(16)[12:16])[0])


class Placing:
    """Placements into a file store that commits a batch per turn of the loop, as the server's."""

    def __init__(self, path: Path) -> None:
        self.config = replace(sim_config(), store_path=str(path))
        self.store: SqliteStore = open_store(self.config)
        self.store.start_group_commit(asyncio.get_running_loop(), wal_cap=CAP, checkpoint_every=3600)
        self.service = OrderService(self.config, self.store, VirtualClock())
        self.placed: list[str] = []
        self.round = sqlite3.connect(str(path), isolation_level=None)  # the checkpointer's round, run by hand

    def place(self) -> None:
        """One placement: held rows and the batch's write transaction, nothing committed yet."""
        group = f"wal-{len(self.placed)}"
        self.placed.append(self.service.place(self.config.account, "MKP", "1", seeds.place_body(group)).order_id)

    async def batch(self, n: int = 3) -> None:
        for _ in range(n):
            self.place()
        await self.store.durable()

    def checkpointer(self) -> wal.Checkpointer:
        assert self.store._checkpointer is not None  # a file store with group commit has one
        return self.store._checkpointer

    async def starve(self) -> None:
        """Grow the log past the cap, then run the checkpointer's round while a write transaction is
        open: it copies every frame committed, but the open transaction began before, so the log
        cannot start over when it commits, nor when the next one begins after it."""
        while Path(f"{self.store.path}-wal").stat().st_size <= CAP:
            await self.batch()
        self.place()  # the batch's write transaction is open
        self.checkpointer().survey(self.round)
        assert self.checkpointer().restart_wanted

    def close(self) -> None:
        self.round.close()
        self.store.close()


def assert_all_on_disk(placing: Placing) -> None:
    """Every placement, read back by a store that opens the file afresh."""
    reopened = SqliteStore(placing.store.path)
    try:
        for order_id in placing.placed:
            assert reopened.get_order(placing.config.account, order_id) is not None
    finally:
        reopened.close()


@pytest.fixture
async def placing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Placing]:
    # The hold waits for the checkpointer's thread however slow a busy CI disk makes its fsync,
    # so a restart the tests expect is never lost to the 0.25 s backstop (tested on its own below).
    monkeypatch.setattr(wal, "MAX_HOLD", 30.0)
    p = Placing(tmp_path / "moisim.db")
    yield p
    p.close()


async def test_a_log_past_its_cap_starts_over_though_a_commit_always_follows(placing: Placing, caplog) -> None:
    await placing.starve()
    before = restarts(Path(placing.store.path))
    await placing.store.durable()  # it commits, then holds back the next write transaction
    with caplog.at_level(logging.INFO, logger="moisim.store"):
        await placing.batch()  # joins while held back; begins once the last frames are copied
    assert restarts(Path(placing.store.path)) == before + 1
    [told] = [r for r in caplog.records if r.getMessage() == "writes held for a WAL restart"]  # with how long writes waited
    assert told.fields["caughtUp"] is True and 0 <= told.fields["heldMs"] < 30_000
    await placing.batch()  # and the log goes on from its start
    assert restarts(Path(placing.store.path)) == before + 1
    assert not placing.checkpointer().restart_wanted
    for order_id in placing.placed:  # every placement committed, none lost to the hold
        assert placing.store.get_order(placing.config.account, order_id) is not None


async def test_without_the_hold_the_log_never_starts_over(placing: Placing, monkeypatch) -> None:
    """The starvation itself, so the test above shows the hold is what ends it."""
    monkeypatch.setattr(SqliteStore, "_hold_back", lambda self: None)
    await placing.starve()
    before = restarts(Path(placing.store.path))
    for _ in range(3):
        await placing.batch()
    assert restarts(Path(placing.store.path)) == before


async def test_a_statement_while_writes_are_held_back_waits_for_the_checkpoint_and_runs(placing: Placing) -> None:
    await placing.starve()
    before = restarts(Path(placing.store.path))
    await placing.store.durable()  # held back from here
    placing.place()  # held rows only: no statement yet
    order_id = placing.placed[-1]
    placing.service.authorize(placing.config.account, order_id, seeds.authorization_body(order_id[4:-3]))
    await placing.store.durable()
    assert restarts(Path(placing.store.path)) == before + 1  # it waited for the checkpoint, so the log started over
    order = placing.store.get_order(placing.config.account, order_id)
    assert order is not None and order.status == "payment-approved"


async def test_the_hold_ends_by_itself_when_the_checkpoint_never_comes(placing: Placing, monkeypatch, caplog) -> None:
    monkeypatch.setattr(wal, "MAX_HOLD", 0.01)
    await placing.starve()
    placing.checkpointer().stop()  # its thread is gone: nobody calls back
    await placing.store.durable()
    with caplog.at_level(logging.INFO, logger="moisim.store"):
        await placing.batch()  # still commits, once the hold has timed out
    [told] = [r for r in caplog.records if r.getMessage() == "writes held for a WAL restart"]
    assert told.fields["caughtUp"] is False and told.fields["heldMs"] >= 9.9  # the whole hold, and no checkpoint
    for order_id in placing.placed:
        assert placing.store.get_order(placing.config.account, order_id) is not None


async def test_a_round_asks_for_a_restart_only_past_the_cap(placing: Placing) -> None:
    await placing.batch()
    size = Path(f"{placing.store.path}-wal").stat().st_size  # the log, since nothing checkpointed it yet
    for cap, wanted in ((size * 2, False), (size // 2, True)):  # (the log stays as long: no write between)
        checkpointer = wal.Checkpointer(placing.store.path, interval=3600, cap=cap)
        try:
            checkpointer.survey(placing.round)
            assert checkpointer.restart_wanted is wanted
        finally:
            checkpointer.stop()


async def test_closing_as_a_restart_is_wanted_commits_and_holds_nothing_back(placing: Placing) -> None:
    """The last batch commits as the store closes, and no hold starts after it (its timer would
    outlive the store, and the loop that runs it may be closed)."""
    await placing.starve()  # a restart is wanted, the batch open
    placing.close()
    assert placing.store._holding_back is None
    assert_all_on_disk(placing)


async def test_closing_while_writes_are_held_back_commits_them(placing: Placing) -> None:
    await placing.starve()
    await placing.store.durable()  # held back from here
    placing.place()
    placing.close()  # as the server stops: the held batch begins and commits at once
    assert_all_on_disk(placing)
