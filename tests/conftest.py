"""Fixtures: a moisim app on a virtual clock and an in-memory store, a marketplace stub on
loopback, and a small client that knows the three roles' keys."""

from __future__ import annotations

import asyncio
import json as jsonlib
import socket
from typing import Any, AsyncIterator, Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient

from simulator.config import Config, config_from_dict
from simulator.http import create_app, keys
from simulator.stub import MarketplaceStub
from tests import seeds

KEYS = {
    "marketplace": ("moisim-marketplace", "moisim-marketplace-secret"),
    "seller": ("moisim-seller", "moisim-seller-secret"),
    "admin": ("moisim-admin", "moisim-admin-secret"),
}


class LoopTurns:
    """Counts the turns of the event loop that other work gets while an awaitable runs: code that
    reads ``count`` at two moments of that awaitable learns whether it let the loop go between."""

    def __init__(self) -> None:
        self.count = 0

    async def during(self, awaitable: Awaitable[Any]) -> Any:
        task = asyncio.ensure_future(awaitable)

        async def other_work() -> None:
            while not task.done():
                self.count += 1
                await asyncio.sleep(0)

        await asyncio.gather(task, other_work())
        return task.result()


LOOPBACK_NAMES = {"127.0.0.1", "::1", "localhost"}


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never leave loopback: a lookup of any other host fails at once, as it would on a
    closed CI network, instead of depending on what this machine's DNS does. (The seed's own
    endpoint, service.externalmarketplace.com, is such a host.)"""
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name is not None and name not in LOOPBACK_NAMES:
            raise socket.gaierror(socket.EAI_NONAME, f"tests stay on loopback; {name} is not resolved")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def headers(role: str | None) -> dict[str, str]:
    if role is None:
        return {}
    key, token = KEYS[role]
    return {"X-VTEX-API-AppKey": key, "X-VTEX-API-AppToken": token}


class Sim:
    """A test client for one moisim app: role-aware calls and shortcuts through the flows."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.app = client.server.app

    @property
    def store(self):  # noqa: ANN201
        return self.app[keys.STORE]

    @property
    def service(self):  # noqa: ANN201
        return self.app[keys.SERVICE]

    @property
    def dispatcher(self):  # noqa: ANN201
        return self.app[keys.DISPATCHER]

    async def call(self, method: str, path: str, role: str | None = "marketplace", json: Any = None,
                   data: str | bytes | None = None, expect: int | None = None) -> tuple[int, Any]:
        kwargs: dict[str, Any] = {"headers": headers(role)}
        if json is not None:
            kwargs["json"] = json
        if data is not None:
            kwargs["data"] = data
        async with self.client.request(method, path, **kwargs) as resp:
            text = await resp.text()
            body = None
            if text:
                try:
                    body = jsonlib.loads(text)
                except ValueError:
                    body = text
            if expect is not None:
                assert resp.status == expect, f"{method} {path}: {resp.status} {body}"
            return resp.status, body

    async def place(self, group: str = "externalMarketplace10", endpoint: str | None = None, expect: int = 200,
                    **changes: Any) -> Any:
        _, body = await self.call("PUT", "/api/checkout/pvt/orders?sc=1&affiliateId=MKP",
                                  json=seeds.place_body(group, endpoint, **changes), expect=expect)
        return body

    async def authorize(self, order_id: str, group: str, expect: int = 200) -> Any:
        _, body = await self.call(
            "POST", f"/api/checkout/pvt/orders/{order_id}/receipts/marketplace-order-authorization",
            json=seeds.authorization_body(group), expect=expect)
        return body

    async def advance(self, seconds: float) -> Any:
        _, body = await self.call("POST", "/_sim/clock/advance", role="admin", json={"seconds": seconds}, expect=200)
        return body

    async def order(self, order_id: str) -> Any:
        return (await self.call("GET", f"/api/oms/pvt/orders/{order_id}", expect=200))[1]

    async def ready_for_handling(self, group: str = "externalMarketplace10", endpoint: str | None = None) -> str:
        """Place, authorize and let the cancellation window pass; returns the chain order id."""
        placed = await self.place(group, endpoint)
        order_id = placed["orders"][0]["orderId"]
        await self.authorize(order_id, group)
        await self.advance(30 * 60)
        return order_id

    async def handling(self, group: str = "externalMarketplace10", endpoint: str | None = None) -> str:
        order_id = await self.ready_for_handling(group, endpoint)
        await self.call("POST", f"/api/oms/pvt/orders/{order_id}/start-handling", role="seller", expect=204)
        return order_id


def sim_config(**overrides: Any) -> Config:
    data: dict[str, Any] = {"store": {"path": ":memory:"}, "clock": "virtual",
                            "callbacks": {"timeout": "2s", "backoff": "1s"}}
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return config_from_dict(data)


def fail_next_commit(store: Any) -> None:
    """The store's connection, but its next COMMIT fails as SQLite's does on a full disk (seen on a
    3 MiB tmpfs); after that one, the real connection again."""
    import sqlite3

    real = store._conn

    class FullDisk:
        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def execute(self, sql: str, *args: Any) -> Any:
            if sql == "COMMIT":
                store._conn = real  # once
                raise sqlite3.OperationalError("database or disk is full")
            return real.execute(sql, *args)

    store._conn = FullDisk()


SimFactory = Callable[..., Awaitable[Sim]]


@pytest.fixture
async def make_sim(aiohttp_client: Any) -> SimFactory:
    async def make(config: Config | None = None, **overrides: Any) -> Sim:
        config = config or sim_config(**overrides)
        client = await aiohttp_client(create_app(config))
        return Sim(client)

    return make


@pytest.fixture
async def sim(make_sim: SimFactory) -> Sim:
    return await make_sim()


@pytest.fixture
async def marketplace() -> AsyncIterator[MarketplaceStub]:
    stub = MarketplaceStub()
    await stub.start()
    yield stub
    await stub.stop()
