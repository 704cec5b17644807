"""Reads too long for the event loop's thread, on a connection and a thread of their own.

A list's figures (count, least, greatest, sums) read the listing index of every order the
filter selects: about 0.4 µs an order, 15 ms for 36,000 chain orders, 0.4 s for a million. On
the loop's thread that stopped every other request for as long: under a steady mixed load (300
requests a second, a list in twenty) placement's p99 climbed from 6 to 27 ms in four minutes as
the orders piled up; read here, it stayed at 6-15 ms. SQLite reads without holding the GIL, and
the loop serves meanwhile. The connection's page cache costs about 2 MiB of memory.

Each job runs in one read transaction, so a list's figures and its page come from the same
snapshot. The snapshot holds what is committed, and nothing else: the loop answers a request
only once its writes are committed (``Store.durable``), so whatever a client has been told
is there, and what a batch has not committed yet (it may still fail) is not.
"""

from __future__ import annotations

import asyncio
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, TypeVar

T = TypeVar("T")


class Reader:
    """A read-only connection to the database file at ``path``, used on one thread."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="moisim-reader")
        self._db: sqlite3.Connection | None = None  # opened on the reader's thread, at its first job

    async def run(self, job: Callable[[sqlite3.Connection], T]) -> T:
        """``job(connection)`` on the reader's thread, inside one read transaction."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, self._in_transaction, job)

    def _in_transaction(self, job: Callable[[sqlite3.Connection], T]) -> T:
        db = self._connection()
        db.execute("BEGIN")
        try:
            return job(db)
        finally:
            if db.in_transaction:  # it wrote nothing (query_only): ending the snapshot is all this does
                db.execute("ROLLBACK")

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            # mode=rw: a file deleted under the server is an error here, not a new empty database
            uri = Path(self._path).absolute().as_uri() + "?mode=rw"
            db = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA query_only=ON")
            self._db = db
        return self._db

    def close(self) -> None:
        """Wait for the job under way, if any, then close the connection."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        if self._db is not None:
            self._db.close()
            self._db = None
