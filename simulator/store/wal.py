"""The write-ahead log kept short: checkpoints off the event loop, and the log started over when it grows.

SQLite appends every commit to the WAL; a checkpoint copies its frames back into the database
file (it fsyncs the log first, and the database file once it has copied the last frame), and the
log starts again from its first byte only when a write transaction begins with every frame
copied. moisim commits on the event loop's thread, a batch per turn of the loop, and checkpoints
on a thread of its own, so no request waits for an fsync. Under a steady load, though, some
commit always lands while a checkpoint runs, so the log never starts over ("checkpoint
starvation"): 60 placements a second grew it by 5 MB a second, 300 a second by 28 MB a second,
without end, until the load stopped (measured before this module, at d349638).

So when a checkpoint finds the log longer than ``cap`` bytes, this thread asks for a restart:
after its next COMMIT the store holds back its next write transaction (new rows stay held and
replies wait for their commit, while the loop goes on with everything else), and this thread
runs one more checkpoint, which then copies every frame. The write transaction that begins next
starts the log from its beginning, and SQLite trims a file that overshot to its
``journal_size_limit`` (set by the store). A statement that cannot wait, one that is not only
new rows, waits for that checkpoint where it stands; and the store stops holding back after
``MAX_HOLD`` seconds whatever happens, so a slow disk costs a restart, never a stalled server.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from typing import Callable

log = logging.getLogger("moisim.store")

WAL_CAP = 128 * 1024 * 1024  # bytes of log past which the log is started over
MAX_HOLD = 0.25  # seconds the store holds its writes back for the checkpoint a restart needs
SHORT_PASS = 0.02  # seconds: a checkpoint this quick leaves little for the one the store waits for
MAX_PASSES = 8  # checkpoints in a row to get there; after them the store waits for whatever is left
FRAME_HEADER = 24  # bytes before each page in the log


class Checkpointer:
    """Runs WAL checkpoints on its own connection, off the event loop's thread.

    A checkpoint that finds the database busy is simply tried again next round. One that fails
    for another reason (a full disk, an I/O error, the file deleted under the server) is logged,
    once per reason until a checkpoint succeeds again: until then the WAL only grows, and whoever
    runs the server should see why. Nothing it meets ends the thread with a traceback.

    ``restart_wanted`` is set by the thread when the log has passed ``cap`` bytes; the store then
    calls :meth:`catch_up` with its writes held back, and is called back (``then``, on this
    thread) once the checkpoint that empties the log has run; ``caught_up`` is set at that moment
    too, for a store that must wait on the spot."""

    def __init__(self, path: str, interval: float = 1.0, cap: int = WAL_CAP) -> None:
        self._path = path
        self._cap = cap
        self._frame: int | None = None  # bytes a page takes in the log
        self._failing: str | None = None  # the reason checkpoints fail for, once logged
        self.restart_wanted = False
        self.caught_up = threading.Event()
        self._then: Callable[[], object] | None = None
        self._asked = threading.Event()  # catch_up was called: checkpoint now
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval,), name="moisim-checkpoint", daemon=True)
        self._thread.start()

    def catch_up(self, then: Callable[[], object]) -> None:
        """Checkpoint at once (the store holds its writes back meanwhile); ``then()`` after it."""
        self.restart_wanted = False
        self.caught_up.clear()
        self._then = then
        self._asked.set()

    def _run(self, interval: float) -> None:
        try:
            db = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            self._failed(exc)
            return
        try:
            while True:
                asked = self._asked.wait(interval)
                if self._stop.is_set():
                    break
                if not asked:
                    self.survey(db)
                    continue
                self._asked.clear()
                try:
                    self.checkpoint(db)
                finally:
                    self.caught_up.set()
                    then, self._then = self._then, None
                    if then is not None:
                        try:
                            then()
                        except RuntimeError:  # the store's loop closed meanwhile: nothing waits
                            pass
            self.checkpoint(db)  # the last one, as the store closes
        finally:
            db.close()

    def survey(self, db: sqlite3.Connection) -> None:
        """The round's checkpoint; and when the log has passed the cap, the work of the checkpoint
        a restart needs done ahead, so that the store's writes wait only for what is left.

        A checkpoint that leaves frames behind (there always are, under load) copies pages into
        the database file without an fsync; the one that copies the last frame fsyncs the file,
        and with it every page copied since the last such one: up to the whole cap, 0.26 s here
        for about 100 MB. So the file is fsynced here, and checkpointed again, until the two
        take less than ``SHORT_PASS``: what commits add meanwhile is all that is left."""
        frames = self.checkpoint(db)
        if frames is None or not self._past_cap(db, frames):
            return
        for _ in range(MAX_PASSES):
            started = time.monotonic()
            if not self._sync_database():
                return
            if self.checkpoint(db) is None:
                return
            if time.monotonic() - started < SHORT_PASS:
                break
        if not self._asked.is_set():  # (asked meanwhile: a restart is under way already)
            self.restart_wanted = True

    def _sync_database(self) -> bool:
        """fsync the database file (the pages checkpoints copied into it); False if it failed."""
        try:
            fd = os.open(self._path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            self._failed(exc)
            return False
        return True

    def _past_cap(self, db: sqlite3.Connection, frames: int) -> bool:
        if self._frame is None:
            try:
                self._frame = int(db.execute("PRAGMA page_size").fetchone()[0]) + FRAME_HEADER
            except sqlite3.Error as exc:
                self._failed(exc)
                return False
        return frames * self._frame > self._cap

    def checkpoint(self, db: sqlite3.Connection) -> int | None:
        """One PASSIVE checkpoint; the frames in the log as it ran, or None if it could not run."""
        try:
            _busy, frames, _copied = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error as exc:
            if not getattr(exc, "sqlite_errorname", "").startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
                self._failed(exc)
            return None
        if self._failing is not None:
            log.info("WAL checkpoints succeed again", extra={"fields": {"db": self._path}})
            self._failing = None
        return int(frames)

    def _failed(self, exc: sqlite3.Error | OSError) -> None:
        reason = getattr(exc, "sqlite_errorname", None) or str(exc)
        if reason != self._failing:
            log.warning("a WAL checkpoint failed (%s); the write-ahead log grows until one succeeds", exc,
                        extra={"fields": {"db": self._path, "error": reason}})
            self._failing = reason

    def stop(self) -> None:
        self._stop.set()
        self._asked.set()
        self._thread.join(timeout=5)
