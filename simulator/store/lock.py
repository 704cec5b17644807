"""One moisim to a database file: an exclusive lock held while the store is open."""

from __future__ import annotations

import logging
import os
import sqlite3
import time

log = logging.getLogger("moisim.store")


class DatabaseInUse(sqlite3.OperationalError):
    """Another store (another moisim, most likely) holds the database file."""


# A server that is stopping (SIGTERM, Ctrl-C) may take up to its 5 s shutdown to let go of the
# file: a restart that follows at once waits for it, a second server beside a running one stops.
LOCK_WAIT_SECONDS = 7.0


def serve_alone(path: str, wait: float = LOCK_WAIT_SECONDS) -> int | None:
    """Hold an exclusive lock on the database file while the store is open, so a second moisim on
    the same file does not serve beside the first: two would hand out the same order sequence
    numbers, both fire every timer and send every callback twice. The lock goes with the process,
    kill -9 included. Where the OS has no flock (Windows) there is no check."""
    try:
        import fcntl
    except ImportError:
        return None
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # no file by that name: "" (SQLite's private temporary database), a file: URI
        return None
    deadline = time.monotonic() + wait
    pause, warned = 0.01, False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            pass
        except OSError:  # a file system without flock (some network ones): no check, as on Windows
            os.close(fd)
            return None
        if time.monotonic() >= deadline:
            os.close(fd)
            raise DatabaseInUse(f"another moisim is serving it (waited {wait:g} s for it to stop); stop that one, "
                                "or give this one its own --db")
        if not warned:
            log.warning("the database is in use by another moisim; waiting up to %g s for it to stop", wait,
                        extra={"fields": {"db": path}})
            warned = True
        time.sleep(pause)  # start-up, before anything is served: nothing else waits on this thread
        pause = min(pause * 2, 0.2)
