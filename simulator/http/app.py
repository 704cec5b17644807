"""The application factory: one aiohttp app, its resources owned by ``cleanup_ctx``."""

from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator

from aiohttp import web

from simulator.clock import Clock, VirtualClock, iso, make_clock, parse_iso
from simulator.config import Config
from simulator.domain.service import OrderService
from simulator.http import checkout, control, keys, oms
from simulator.http.middleware import authenticate, errors_and_journal
from simulator.outbox.callbacks import CHANGE
from simulator.outbox.dispatcher import Dispatcher
from simulator.scenarios.playback import ScenarioPlayback, scenarios_for
from simulator.scheduler import VIRTUAL_NOW, Scheduler
from simulator.schemas import SchemaRegistry, default_registry
from simulator.store.base import Delivery
from simulator.store.sqlite import SqliteStore


def open_store(config: Config) -> SqliteStore:
    store = SqliteStore(config.store_path, synchronous=config.synchronous, journal_cap=config.journal_cap)
    store.seed_stock(config.account, config.initial_stock(config.catalog))
    return store


def restore_clock(kind: str, store: SqliteStore) -> Clock:
    """A virtual clock resumes where the last run left it, so stored timers keep their meaning. Its
    first run on a store keeps where it started (the wall-clock time): a store whose clock was never
    advanced resumes there too, rather than at whatever time the next run starts."""
    clock = make_clock(kind)
    if isinstance(clock, VirtualClock):
        saved = store.get_meta(VIRTUAL_NOW)
        if saved:
            clock.set(parse_iso(saved))
        else:
            with store.transaction():
                store.set_meta(VIRTUAL_NOW, iso(clock.now()) or "")
    return clock


def create_app(config: Config, *, clock: Clock | None = None, store: SqliteStore | None = None,
               schemas: SchemaRegistry | None = None) -> web.Application:
    app = web.Application(middlewares=[errors_and_journal, authenticate], client_max_size=config.max_body_bytes)
    app[keys.CONFIG] = config
    owned_store = store is None
    app[keys.STORE] = store = store or open_store(config)
    app[keys.CLOCK] = clock or restore_clock(config.clock, store)
    app[keys.SCHEMAS] = schemas or default_registry()
    app[keys.CREDENTIALS] = {c.app_key: c for c in config.credentials}
    app[keys.READING] = set()
    service = OrderService(config, app[keys.STORE], app[keys.CLOCK])
    app[keys.SERVICE] = service

    def change_settled(delivery: Delivery, outcome: str, reply: Any) -> None:
        if delivery.ref:
            service.settle_change(delivery.account, delivery.order_id, delivery.ref, outcome, reply)

    app[keys.DISPATCHER] = Dispatcher(app[keys.STORE], app[keys.CLOCK], config.callbacks, app[keys.SCHEMAS],
                                      on_settled={CHANGE: change_settled})
    dispatcher = app[keys.DISPATCHER]
    scenarios = scenarios_for(config, app[keys.SCHEMAS])  # raises ConfigError for a bad binding
    playback = (ScenarioPlayback(service, app[keys.CLOCK], scenarios, dispatcher.settle, dispatcher.wake)
                if scenarios else None)
    app[keys.SCHEDULER] = Scheduler(service, app[keys.CLOCK], dispatcher.wake, dispatcher.settle, playback)

    async def runtime(app: web.Application) -> AsyncIterator[None]:
        dispatcher, scheduler = app[keys.DISPATCHER], app[keys.SCHEDULER]
        app[keys.STORE].start_group_commit(asyncio.get_running_loop())
        await dispatcher.start()
        await scheduler.start()
        yield
        await scheduler.stop()
        await dispatcher.stop()
        if owned_store:
            app[keys.STORE].close()

    async def interrupt_waits(app: web.Application) -> None:
        """A clock advance or an outbox drain under way ends now, not after aiohttp's 10 s; so does
        a request whose body is still arriving (a stalled client held a stop for 5 s)."""
        app[keys.SCHEDULER].interrupt()
        app[keys.DISPATCHER].interrupt()
        reading = app[keys.READING]
        for transport in list(reading):
            transport.abort()

    app.cleanup_ctx.append(runtime)
    app.on_shutdown.append(interrupt_waits)  # before aiohttp waits for the requests under way
    checkout.setup_routes(app)
    oms.setup_routes(app)
    control.setup_routes(app)
    return app
