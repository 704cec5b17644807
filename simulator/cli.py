"""``moisim``: serve the simulator, validate files, run conformance scenarios."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from typing import TYPE_CHECKING, Any, Callable, Coroutine, Sequence

from simulator import __version__

if TYPE_CHECKING:
    from aiohttp import web

    from simulator.config import Config

log = logging.getLogger("moisim")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="moisim", description="A VTEX MOI chain-order seller and OMS simulator.")
    parser.add_argument("--version", action="version", version=f"moisim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the simulator as an HTTP server")
    serve.add_argument("--config", metavar="FILE", help="YAML configuration merged over the built-in defaults")
    serve.add_argument("--host", type=_given("an address"), help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=_port, help="port to listen on (default 8080; 0 picks a free one)")
    serve.add_argument("--db", type=_given("a file, or :memory:"), metavar="PATH|:memory:",
                       help="SQLite file (default ./moisim.db)")
    serve.add_argument("--clock", choices=["real", "virtual"], help="real (default) or virtual time")

    validate = sub.add_parser("validate", help="check scenario and configuration files without running them")
    validate.add_argument("files", nargs="+", metavar="FILE")

    conformance = sub.add_parser("conformance", help="play the bundled scenarios against a marketplace")
    conformance.add_argument("--marketplace-endpoint", required=True, metavar="URL",
                             help="the marketplaceServicesEndpoint of the marketplace under test, or 'stub' for "
                                  "moisim's built-in (correct) marketplace stub")
    conformance.add_argument("--scenarios", metavar="DIR", help="a folder of scenario files (default: the bundled ones)")
    conformance.add_argument("--junit", metavar="FILE", help="write a JUnit XML report here")
    conformance.add_argument("--clock", choices=["real", "virtual"], default="virtual")
    conformance.add_argument("--server", metavar="URL", help="drive an already running moisim instead of an in-process one")
    conformance.add_argument("--include", choices=["conformance", "behaviour", "all"], default="conformance",
                             help="which kind of scenarios to run (default: conformance)")
    conformance.add_argument("--config", metavar="FILE",
                             help="configuration of the in-process simulator, or the keys and catalog of --server's")
    conformance.add_argument("--verbose", "-v", action="store_true", help="print every step, not only failures")
    conformance.add_argument("--only", metavar="NAME", action="append", help="run only the scenarios named (repeatable)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _command(build_parser().parse_args(argv))
    except KeyboardInterrupt:  # Ctrl-C while it was still starting (once serving, it stops cleanly)
        print("moisim: interrupted", file=sys.stderr)
        return 130


def _command(args: argparse.Namespace) -> int:
    if args.command == "serve":
        return serve(args)
    if args.command == "validate":
        from simulator.scenarios.validate import validate_files

        return validate_files(args.files)
    if args.command == "conformance":
        from simulator.scenarios.conformance import run_from_cli

        return run_from_cli(args)
    return 2


def serve(args: argparse.Namespace) -> int:
    import sqlite3

    from simulator.config import ConfigError, load_config
    from simulator.http import create_app
    from simulator.logs import setup_logging

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"moisim: {exc}", file=sys.stderr)
        return 2
    config = config.with_overrides(host=args.host, port=args.port, store_path=args.db, clock=args.clock)
    setup_logging(config.log_level, config.log_format)
    try:
        app = create_app(config)
    except ConfigError as exc:
        print(f"moisim: {exc}", file=sys.stderr)
        return 2
    except sqlite3.Error as exc:  # a folder that does not exist, a file that is not a database
        print(f"moisim: cannot open the database {config.store_path} (store.path, --db): {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        print(f"moisim: cannot start: {exc}", file=sys.stderr)
        return 2

    try:
        run(_serve(app, config))
    except OSError as exc:
        print(f"moisim: cannot listen on {config.host}:{config.port}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    return 0


def _port(text: str) -> int:
    """A TCP port for argparse: the operating system would take 99999 as 34463 without a word."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port: use 1-65535, or 0 for a free one")
    return port


def _given(what: str) -> Callable[[str], str]:
    """An argparse type that refuses an empty value, as the configuration's schema does."""

    def check(text: str) -> str:
        if not text:
            raise argparse.ArgumentTypeError(f"empty: give {what}")
        return text

    return check


def run(main: Coroutine[Any, Any, None]) -> None:
    """Run on uvloop where it is installed (libuv's loop: about 5 % less CPU per placement than
    asyncio's own), else on asyncio's loop; everything in moisim works on either."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
    else:
        uvloop.run(main)


def loop_name() -> str:
    return type(asyncio.get_running_loop()).__module__.split(".")[0]


async def _serve(app: "web.Application", config: "Config") -> None:
    """Listen, announce readiness (only once the socket accepts), run until SIGINT or SIGTERM."""
    from aiohttp import web

    from simulator.http.server import Runner

    runner = Runner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, config.host, config.port, shutdown_timeout=5, ssl_context=config.server_tls())
        await site.start()
        port = site._server.sockets[0].getsockname()[1] if site._server else config.port  # type: ignore[attr-defined]
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        log.info("moisim ready", extra={"fields": {
            "url": f"{config.scheme}://{config.host}:{port}", "clock": config.clock, "db": config.store_path,
            "account": config.account, "loop": loop_name()}})
        await stop.wait()
        log.info("moisim stopping")
    finally:
        await runner.cleanup()


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

