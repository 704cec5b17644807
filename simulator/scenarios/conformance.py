"""``moisim conformance``: play scenarios against a marketplace and report, for people and CI.

By default it starts its own simulator in-process (virtual clock, in-memory store) on a loopback
port and drives it over HTTP exactly as ``--server URL`` drives an already running one, so both
paths are the same code. Exit status: 0 all passed, 1 something failed, 2 the run could not
start or broke (a bad scenario or configuration file, a marketplace endpoint no callback could
reach, moisim unreachable or refusing the keys); the report still has every scenario's error.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Iterable, Sequence

import aiohttp
from aiohttp import web

from simulator.config import Config, ConfigError, load_config
from simulator.outbox.callbacks import endpoint_problem
from simulator.scenarios.engine import Keys, MoisimClient, RunError, ScenarioPlayer
from simulator.scenarios.events import Event, Reporter, RunFinished, RunStarted, ScenarioFinished
from simulator.scenarios.model import BUNDLED_DIR, Scenario, ScenarioError, load_scenarios
from simulator.scenarios.reporters import ConsoleReporter, JUnitReporter
from simulator.stub import MarketplaceStub

STUB = "stub"


def select(scenarios: Iterable[Scenario], include: str = "conformance", only: Sequence[str] | None = None) -> list[Scenario]:
    chosen = [s for s in scenarios if include == "all" or s.kind == include]
    if only:
        unknown = sorted(set(only) - {s.name for s in scenarios})
        if unknown:
            raise ScenarioError([f"--only: no scenario named {name!r}" for name in unknown])
        chosen = [s for s in chosen if s.name in only]
    return chosen


async def start_in_process(config: Config) -> tuple[web.AppRunner, str]:
    """A moisim on a free loopback port; the caller cleans the runner up."""
    from simulator.http import create_app

    runner = web.AppRunner(create_app(config), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


async def run(scenarios: Sequence[Scenario], *, endpoint: str | None = None, config: Config,
              reporters: Sequence[Reporter], server: str | None = None, clock: str = "virtual",
              stub: MarketplaceStub | None = None) -> RunFinished:
    """Play ``scenarios`` one after another and tell ``reporters`` everything.

    ``endpoint`` is the marketplace under test, or ``"stub"`` for moisim's own stub; a running
    ``stub`` may be passed instead (tests give it defects). A stub also takes the scenarios'
    ``stub:`` scripts. Without ``server`` a simulator is started here.
    """

    def emit(event: Event) -> None:
        for reporter in reporters:
            reporter.handle(event)

    started = time.perf_counter()
    results: list[ScenarioFinished] = []
    async with AsyncExitStack() as stack:
        if endpoint == STUB and stub is None:
            stub = MarketplaceStub()
            await stub.start()
            stack.push_async_callback(stub.stop)
        if stub is not None:
            endpoint = f"{stub.url}/api/orders?parameter=value"  # a path and a query string, as in the seed
        if not endpoint:
            raise RunError("no marketplace endpoint to test")
        if server is None:
            local = config.with_overrides(store_path=":memory:", clock=clock)
            runner, server = await start_in_process(local)
            stack.push_async_callback(runner.cleanup)
        session = await stack.enter_async_context(aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=300)))
        client = MoisimClient(session, server, Keys.from_config(config))
        emit(RunStarted(len(scenarios), endpoint, server))
        player = ScenarioPlayer(client, config, endpoint, uuid.uuid4().hex[:8], emit, stub=stub,
                                stall_seconds=config.callbacks.timeout + 1)
        for scenario in scenarios:
            if stub is not None:
                stub.forget()  # its defects, if any, stay
            results.append(await player.play(scenario))
    passed = sum(1 for r in results if r.ok)
    finished = RunFinished(passed, len(results) - passed, time.perf_counter() - started, tuple(results))
    emit(finished)
    return finished


def run_from_cli(args: argparse.Namespace) -> int:
    problem = None if args.marketplace_endpoint == STUB else endpoint_problem(args.marketplace_endpoint)
    if problem:
        print(f"moisim conformance: --marketplace-endpoint {args.marketplace_endpoint!r}: {problem}", file=sys.stderr)
        return 2
    try:
        config = load_config(args.config)
        directory = Path(args.scenarios) if args.scenarios else BUNDLED_DIR
        scenarios = select(load_scenarios([directory]).values(), args.include, args.only)
    except (ConfigError, ScenarioError) as exc:
        print(f"moisim conformance: {exc}", file=sys.stderr)
        return 2
    if not scenarios:
        print(f"moisim conformance: no {args.include} scenarios in {directory}", file=sys.stderr)
        return 2
    reporters: list[Reporter] = [ConsoleReporter(verbose=args.verbose)]
    if args.junit:
        junit = JUnitReporter(args.junit)
        try:
            junit.check_writable()  # found before the run, not after it
        except OSError as exc:
            print(f"moisim conformance: --junit {args.junit}: cannot write the report there ({exc.strerror})",
                  file=sys.stderr)
            return 2
        reporters.append(junit)
    try:
        result = asyncio.run(run(scenarios, endpoint=args.marketplace_endpoint, config=config, reporters=reporters,
                                 server=args.server, clock=args.clock))
    except (RunError, OSError) as exc:
        print(f"moisim conformance: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    if any(r.error for r in result.results):  # moisim unreachable, keys refused: not the marketplace's doing
        return 2
    return 0 if result.failed == 0 else 1
