"""Persistence behind a small interface. ``SqliteStore`` is the one implementation; opened on
``":memory:"`` it is the in-memory store the tests use."""

from simulator.store.base import Delivery, JournalEntry, Store, Timer
from simulator.store.sqlite import SqliteStore

__all__ = ["Delivery", "JournalEntry", "SqliteStore", "Store", "Timer"]
