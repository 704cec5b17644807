"""The benchmark's reference servers answer what `make bench` assumes they answer.

`make bench` is run by hand; these keep its baselines honest between runs. The floor must do
the work it claims (keys, validation, a durable write), and it must answer moisim's response for
the order it was sent, or its figure means nothing next to moisim's.
"""

from __future__ import annotations

import contextlib
import os
import threading
import json
import sqlite3
from pathlib import Path
from typing import Any

from aiohttp import web

from bench import bare, run
from bench.floor import Floor
from tests import seeds
from tests.conftest import headers

PLACE = "/api/checkout/pvt/orders?sc=1&affiliateId=MKP"


async def floor_client(aiohttp_client: Any, path: Path) -> Any:
    app = web.Application()
    app.router.add_put("/api/checkout/pvt/orders", Floor(str(path)).place)
    return await aiohttp_client(app)


async def test_floor_answers_moisims_response_for_the_order_sent_and_keeps_it(aiohttp_client: Any,
                                                                             tmp_path: Path) -> None:
    client = await floor_client(aiohttp_client, tmp_path / "floor.db")
    response = await client.put(PLACE, json=seeds.place_body("floor-1"), headers=headers("marketplace"))
    assert response.status == 200
    order = (await response.json())["orders"][0]
    assert order["orderId"] == "MKP-floor-1-01"
    assert order["marketplaceOrderGroup"] == "floor-1"
    assert order["state"] == "waiting-for-mkt-authorization"
    assert [item["id"] for item in order["items"]] == ["8", "36"]
    with contextlib.closing(sqlite3.connect(tmp_path / "floor.db")) as db:  # committed before the answer
        assert [r[0] for r in db.execute("SELECT order_id FROM orders")] == ["MKP-floor-1-01"]
        assert dict(db.execute("SELECT sku, reserved FROM stock WHERE reserved > 0")) == {"8": 1, "36": 1}


async def test_floor_refuses_what_moisim_refuses(aiohttp_client: Any, tmp_path: Path) -> None:
    client = await floor_client(aiohttp_client, tmp_path / "floor.db")
    good = seeds.place_body("floor-2")
    assert (await client.put(PLACE, json=good, headers=headers(None))).status == 401
    assert (await client.put(PLACE, json=good, headers=headers("seller"))).status == 401
    for body in ({**good, "marketplaceServicesEndpoint": 7},
                 {**good, "items": [{"id": "nope", "quantity": 1, "seller": "1", "price": 1}]}):
        assert (await client.put(PLACE, json=body, headers=headers("marketplace"))).status == 400
    wrong_channel = PLACE.replace("sc=1", "sc=2")
    assert (await client.put(wrong_channel, json=good, headers=headers("marketplace"))).status == 400
    assert (await client.put(PLACE, json=good, headers=headers("marketplace"))).status == 200
    assert (await client.put(PLACE, json=good, headers=headers("marketplace"))).status == 400  # a duplicate
    again = await client.put(PLACE, json=seeds.place_body("floor-3"), headers=headers("marketplace"))
    assert again.status == 200  # and it goes on placing after a refusal


async def test_bare_handler_parses_the_body_and_answers_a_place_order_shape(aiohttp_client: Any) -> None:
    app = web.Application()
    app.router.add_put("/api/checkout/pvt/orders", bare.place)
    client = await aiohttp_client(app)
    response = await client.put(PLACE, data=json.dumps(seeds.place_body("bare-1")))
    assert response.status == 200
    answer = await response.json()
    assert answer["orders"][0]["orderId"] == "MKP-bare-1-01" and answer["orderForm"] is None


def test_cpu_ticks_are_read_past_a_command_name_with_spaces_and_parentheses() -> None:
    # /proc/PID/stat: pid (comm) state ppid ... utime (14th) stime (15th); comm may hold ") (".
    stat = "4242 (moisim (x) 1 2) S 1 4242 4242 0 -1 4194304 104 0 0 0 1234 56 0 0 20 0 3 0 8633866"
    assert run._ticks(stat) == 1234 + 56


def test_cpu_line_gives_medians_and_what_the_busiest_thread_allows() -> None:
    line = run.cpu_line("moisim", [(500e-6, 400e-6), (450e-6, 410e-6), (900e-6, 800e-6)])
    assert "CPU per request:  500 µs,  410 µs of it on its busiest thread" in line
    assert "at most  2439 req/s" in line
    assert "busiest" not in run.cpu_line(run.CLIENT, [(160e-6, 160e-6)])
    assert "not measured" in run.cpu_line("moisim", [])


def test_the_busiest_thread_is_the_one_that_spent_most_between_the_readings() -> None:
    # Thread "1" has the most CPU in all, "2" spent the most in between; "3" started in between.
    before = (10.0, {"1": 9.0, "2": 1.0})
    after = (10.6, {"1": 9.1, "2": 1.4, "3": 0.1})
    process, busiest = run.cpu_per_request(before, after, 100)
    assert round(process * 1e6) == 6000 and round(busiest * 1e6) == 4000


def test_cpu_seconds_reads_this_process_and_its_threads() -> None:
    reading = run.cpu_seconds(os.getpid())
    if not Path("/proc/self/stat").exists():
        assert reading is None
        return
    assert reading is not None
    total, threads = reading
    assert str(threading.get_native_id()) in threads
    assert all(0 <= spent <= total + 0.02 for spent in threads.values())
