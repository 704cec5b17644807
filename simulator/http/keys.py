"""Typed application keys: everything a handler reaches through ``request.app``."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from aiohttp import web

from simulator.clock import Clock
from simulator.config import Config, Credential
from simulator.domain.service import OrderService
from simulator.outbox.dispatcher import Dispatcher
from simulator.scheduler import Scheduler
from simulator.schemas import SchemaRegistry
from simulator.store.sqlite import SqliteStore

CONFIG = web.AppKey("config", Config)
CLOCK: web.AppKey[Clock] = web.AppKey("clock")  # a Protocol: named in the annotation, not passed
STORE = web.AppKey("store", SqliteStore)
SCHEMAS = web.AppKey("schemas", SchemaRegistry)
SERVICE = web.AppKey("service", OrderService)
DISPATCHER = web.AppKey("dispatcher", Dispatcher)
SCHEDULER = web.AppKey("scheduler", Scheduler)
CREDENTIALS = web.AppKey("credentials", dict[str, Credential])
# The connections of requests whose bodies are still arriving: a stop cuts them off rather than wait
# for a stalled client.
READING: web.AppKey[set[asyncio.Transport]] = web.AppKey("reading")



@dataclass(slots=True)
class JournalNotes:
    """What the layers below learn about a request, for its journal entry. One object per
    request, made by the outermost middleware, so the journal asks no questions that fail."""

    app_key: str | None = None
    role: str | None = None
    account: str | None = None
    raw_body: bytes | None = None
    findings: list = field(default_factory=list)
    order_id: str | None = None  # the order acted on, where the path does not name it by id (placement, seq{n})
    reply_is_placement: bool = False  # the reply is the chain order's stored place-order response


# Per-request values: the caller's role and account (set by authentication), the journal notes.
ROLE = web.RequestKey("role", str)
ACCOUNT = web.RequestKey("account", str)
NOTES = web.RequestKey("journal-notes", JournalNotes)
