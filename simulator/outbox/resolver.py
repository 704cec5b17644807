"""Name resolution for callbacks that can never hold up a shutdown.

aiohttp's default resolver runs ``getaddrinfo`` in the event loop's default executor. A lookup
of a marketplace host whose DNS server does not answer then blocks a pool thread, and both
``asyncio.run``'s executor shutdown and the interpreter's exit wait for that thread: Ctrl-C on
``moisim serve`` (or the end of a test) hangs until the resolver gives up, which on a closed
network may be never. Here each lookup runs in its own daemon thread; the caller's attempt
timeout abandons it, and nothing ever waits for it again.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from typing import Any

from aiohttp.abc import AbstractResolver, ResolveResult

_NUMERIC = socket.AI_NUMERICHOST | socket.AI_NUMERICSERV


def _lookup_in_daemon_thread(loop: asyncio.AbstractEventLoop, host: str, port: int,
                             family: socket.AddressFamily) -> asyncio.Future[list[Any]]:
    future: asyncio.Future[list[Any]] = loop.create_future()

    def settle(result: list[Any] | None, error: BaseException | None) -> None:
        if future.done():  # the attempt timed out and went away
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result or [])

    def work() -> None:
        try:
            infos = socket.getaddrinfo(host, port, family=family, type=socket.SOCK_STREAM,
                                       flags=socket.AI_ADDRCONFIG)
        except BaseException as error:  # noqa: BLE001 - handed to the waiting coroutine
            outcome: tuple[list[Any] | None, BaseException | None] = (None, error)
        else:
            outcome = (infos, None)
        try:
            loop.call_soon_threadsafe(settle, *outcome)
        except RuntimeError:  # the loop is closed: nobody is waiting any more
            pass

    threading.Thread(target=work, name=f"moisim-resolve-{host}", daemon=True).start()
    return future


class DaemonThreadResolver(AbstractResolver):
    """Resolves like aiohttp's ThreadedResolver, in threads that nobody joins."""

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        infos = await _lookup_in_daemon_thread(asyncio.get_running_loop(), host, port, family)
        results: list[ResolveResult] = []
        for fam, _, proto, _, address in infos:
            if fam == socket.AF_INET6 and len(address) < 3:
                continue  # IPv6 not supported by this Python build
            results.append(ResolveResult(hostname=host, host=address[0], port=address[1], family=fam,
                                         proto=proto, flags=_NUMERIC))
        if not results:
            raise OSError(f"no usable address for {host}")
        return results

    async def close(self) -> None:
        pass
