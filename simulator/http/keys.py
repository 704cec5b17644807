"""Typed application keys: everything a handler reaches through ``request.app``."""

from __future__ import annotations

from aiohttp import web

from simulator.clock import RealClock, VirtualClock
from simulator.config import Config, Credential
from simulator.domain.service import OrderService
from simulator.outbox.dispatcher import Dispatcher
from simulator.scheduler import Scheduler
from simulator.schemas import SchemaRegistry
from simulator.store.sqlite import SqliteStore

CONFIG = web.AppKey("config", Config)
CLOCK = web.AppKey("clock", RealClock | VirtualClock)
STORE = web.AppKey("store", SqliteStore)
SCHEMAS = web.AppKey("schemas", SchemaRegistry)
SERVICE = web.AppKey("service", OrderService)
DISPATCHER = web.AppKey("dispatcher", Dispatcher)
SCHEDULER = web.AppKey("scheduler", Scheduler)
CREDENTIALS = web.AppKey("credentials", dict[str, Credential])

# Per-request values set by the middlewares and the body reader.
ROLE = web.RequestKey("role", str)
ACCOUNT = web.RequestKey("account", str)
APP_KEY = web.RequestKey("app-key", str)
RAW_BODY = web.RequestKey("raw-body", bytes)
FINDINGS = web.RequestKey("findings", list)
ORDER_ID = web.RequestKey("order-id", str)  # the order a route without {orderId} acted on, for the journal
REPLY_IS_PLACEMENT = web.RequestKey("reply-is-placement", bool)  # the reply is the stored place-order response
