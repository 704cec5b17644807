"""The workflow table and timed transitions on the virtual clock."""

from __future__ import annotations

from datetime import timedelta

from simulator.clock import LATEST
from simulator.domain import workflow
from simulator.domain.workflow import FRANCHISE, CHAIN, PREVIOUS, Event, Kind, Status
from simulator.http import keys
from tests import seeds
from tests.conftest import LoopTurns, Sim


def test_every_status_in_the_table_is_a_vtex_status() -> None:
    for status in workflow.all_statuses():
        assert status in {s.value for s in Status}


def test_final_states_have_no_way_out() -> None:
    for table in (CHAIN, FRANCHISE):
        for (state, event), move in table.items():
            assert state not in workflow.FINAL, f"{state} --{event}--> {move.next}"


def test_the_documented_franchise_sequence_is_in_the_table() -> None:
    state = None
    path = []
    for event in (Event.PLACE, Event.ACCEPT, Event.AUTHORIZE, Event.WINDOW_END, Event.START_HANDLING, Event.INVOICE_FULL):
        move = workflow.lookup(Kind.FRANCHISE, state, event)
        assert move is not None, (state, event)
        state = move.next
        path.append(state)
    assert path == ["order-accepted", "waiting-ffmt-authorization", "window-to-cancel", "ready-for-handling",
                    "handling", "invoiced"]


def test_deny_returns_to_the_previous_state() -> None:
    assert workflow.lookup(Kind.FRANCHISE, Status.CANCELLATION_REQUESTED, Event.CANCEL_DENY).next == PREVIOUS


async def test_the_window_passes_on_advance_and_every_move_is_timed(sim: Sim) -> None:
    await sim.place()
    await sim.authorize(seeds.SEED_ORDER_ID, "externalMarketplace10")
    franchise_id = "FRC-" + seeds.SEED_ORDER_ID
    advanced = await sim.advance(29 * 60 + 59)
    assert advanced["transitions"] == 0
    assert (await sim.order(franchise_id))["status"] == "window-to-cancel"
    advanced = await sim.advance(1)
    assert advanced["transitions"] == 1
    assert (await sim.order(franchise_id))["status"] == "ready-for-handling"  # the very next request sees it
    _, view = await sim.call("GET", f"/_sim/orders/{seeds.SEED_ORDER_ID}", role="admin", expect=200)
    moves = [(t["orderId"], t["to"]) for t in view["timeline"]]
    assert moves == [
        (seeds.SEED_ORDER_ID, "waiting-for-mkt-authorization"),
        (franchise_id, "order-accepted"), (franchise_id, "waiting-ffmt-authorization"),
        (seeds.SEED_ORDER_ID, "payment-approved"), (franchise_id, "window-to-cancel"),
        (franchise_id, "ready-for-handling"),
    ]
    window = [t for t in view["timeline"] if t["to"] in ("window-to-cancel", "ready-for-handling")]
    from simulator.clock import parse_iso

    assert (parse_iso(window[1]["at"]) - parse_iso(window[0]["at"])).total_seconds() == 1800


async def test_one_big_advance_applies_everything_due_in_order(sim: Sim) -> None:
    await sim.place("g-a")
    await sim.place("g-b")
    await sim.authorize("MKP-g-a-01", "g-a")
    result = await sim.advance(31 * 86400)  # the window of g-a, and the 30-day timeout of g-b
    assert result["transitions"] == 2
    assert (await sim.order("FRC-MKP-g-a-01"))["status"] == "ready-for-handling"
    canceled = await sim.order("MKP-g-b-01")
    assert canceled["status"] == "canceled"
    assert canceled["cancellationData"]["RequestedBySystem"] is True
    assert (await sim.order("FRC-MKP-g-b-01"))["status"] == "canceled"
    deliveries = sim.store.deliveries("moisim", "MKP-g-b-01")
    assert [d.kind for d in deliveries] == ["seller-cancellation"]


async def test_an_advance_that_makes_many_timers_due_lets_other_work_run_between_batches(
        sim: Sim, monkeypatch) -> None:
    """Ten thousand timers due at once once held the event loop for 3.7 s: no request, not even
    /_sim/health, was answered meanwhile. They are applied a batch at a time, and the loop gets a
    turn between batches; every one of them is still applied before the advance answers."""
    monkeypatch.setattr("simulator.scheduler.TIMER_BATCH", 3)
    groups = [f"g-{i}" for i in range(10)]
    for group in groups:
        await sim.place(group)
    service = sim.service
    batches: list[tuple[int, int]] = []  # (timers taken, turns other work had had by then)
    turns = LoopTurns()
    fire = service.fire_due_timers

    def recorded(at_most: int) -> tuple[int, int]:
        taken, moved = fire(at_most)
        batches.append((taken, turns.count))
        return taken, moved

    monkeypatch.setattr(service, "fire_due_timers", recorded)
    assert (await turns.during(sim.advance(31 * 86400)))["transitions"] == 10
    with_timers = [b for b in batches if b[0]]
    assert [taken for taken, _ in with_timers] == [3, 3, 3, 1]  # 10 timers, at most 3 a batch
    seen = [turns_then for _, turns_then in with_timers]
    assert seen == sorted(set(seen))  # strictly rising: the other task had a turn between every two
    for group in groups:
        assert (await sim.order(f"MKP-{group}-01"))["status"] == "canceled"
        assert [d.kind for d in sim.store.deliveries("moisim", f"MKP-{group}-01")] == ["seller-cancellation"]


async def test_start_handling_needs_ready_for_handling(sim: Sim) -> None:
    await sim.place()
    await sim.authorize(seeds.SEED_ORDER_ID, "externalMarketplace10")
    path = f"/api/oms/pvt/orders/{seeds.SEED_ORDER_ID}/start-handling"
    status, body = await sim.call("POST", path, role="seller")
    assert (status, body["error"]["code"]) == (409, "OMS003")
    assert "ready-for-handling" in body["error"]["message"]
    await sim.advance(1800)
    status, body = await sim.call("POST", path, role="seller")
    assert (status, body) == (204, None)
    assert (await sim.order("FRC-" + seeds.SEED_ORDER_ID))["status"] == "handling"
    status, body = await sim.call("POST", path, role="seller")
    assert status == 409


async def test_start_handling_by_franchise_order_id(sim: Sim) -> None:
    await sim.ready_for_handling()
    await sim.call("POST", f"/api/oms/pvt/orders/FRC-{seeds.SEED_ORDER_ID}/start-handling", role="seller", expect=204)


async def test_clock_advance_needs_a_virtual_clock_and_a_number(make_sim) -> None:
    sim = await make_sim(clock="real")
    status, body = await sim.call("POST", "/_sim/clock/advance", role="admin", json={"seconds": 5})
    assert (status, body["error"]["code"]) == (409, "SIM010")
    status, body = await sim.call("POST", "/_sim/clock/advance", role="admin", json={"seconds": -1})
    assert status == 400 and "seconds" in body["error"]["message"]
    status, body = await sim.call("POST", "/_sim/clock/advance", role="marketplace", json={"seconds": 5})
    assert status == 403


async def test_the_virtual_clock_stops_short_of_the_end_of_datetimes(sim: Sim) -> None:
    """Ten years at a time, 700 advances would have run the clock past the year 9999 (a 500);
    it stops at LATEST, and what it schedules from there (ten years at most) still has a date."""
    clock = sim.app[keys.CLOCK]
    clock.set(LATEST - timedelta(days=400))
    status, body = await sim.call("POST", "/_sim/clock/advance", role="admin", json={"seconds": 315360000})
    assert (status, body["error"]["code"]) == (400, "SIM002")
    assert "past 9000-01-01" in body["error"]["message"] and "seconds: 315360000" in body["error"]["message"]
    assert clock.now() == LATEST - timedelta(days=400)  # refused whole, not half done
    await sim.advance(400 * 86400)
    assert clock.now() == LATEST
    await sim.place()
    await sim.authorize(seeds.SEED_ORDER_ID, "externalMarketplace10")
    assert (await sim.order(seeds.SEED_ORDER_ID))["status"] == "payment-approved"


async def test_random_workflows_keep_stock_equal_to_what_the_orders_hold(sim: Sim) -> None:
    """300 random marketplace and seller actions over 40 orders (fixed seed): afterwards every
    franchise store's reserved units are those of its orders still open, and its quantity has
    gone down by exactly what was invoiced. No action, allowed or not, is a 5xx."""
    import random

    rng = random.Random(20261123)
    initial = {(s["storeId"], s["sku"]): s["quantity"] for s in sim.store.stock("moisim")}
    groups = []
    for n in range(40):
        body = seeds.place_body(f"rand-{n}", endpoint="http://127.0.0.1:9/mkp")
        body["items"][0]["quantity"], body["items"][1]["quantity"] = rng.randint(1, 3), rng.randint(1, 3)
        if rng.random() < 0.2:
            body["items"][1]["id"] = "999"  # the scarce SKU: some of these placements are refused
        status, _ = await sim.call("PUT", "/api/checkout/pvt/orders?sc=1&affiliateId=MKP", json=body)
        assert status in (200, 400)
        if status == 200:
            groups.append(f"rand-{n}")
    for step in range(300):
        group = rng.choice(groups)
        order_id = f"MKP-{group}-01"
        action = rng.random()
        if action < 0.25:
            call = ("POST", f"/api/checkout/pvt/orders/{order_id}/receipts/marketplace-order-authorization",
                    "marketplace", seeds.authorization_body(group))
        elif action < 0.35:
            call = ("POST", f"/api/oms/pvt/orders/{order_id}/cancel", rng.choice(["marketplace", "seller"]), {"reason": "r"})
        elif action < 0.45:
            call = ("POST", "/_sim/clock/advance", "admin", {"seconds": rng.choice([60, 1800, 3600])})
        elif action < 0.6:
            call = ("POST", f"/api/oms/pvt/orders/{order_id}/start-handling", "seller", None)
        elif action < 0.8:
            order = await sim.order(order_id)
            items = [{"id": i["id"], "price": i["price"], "quantity": i["quantity"]} for i in order["items"]]
            call = ("POST", f"/api/oms/pvt/orders/{order_id}/invoice", "seller",
                    seeds.invoice_body(f"nf-{step}", order["value"], items=items))
        else:
            call = ("POST", f"/api/orders/pvt/document/{order_id}/deny-cancellation-request", "seller", {})
        method, path, role, body = call
        status, answer = await sim.call(method, path, role=role, json=body)
        assert status < 500, (path, answer)

    reserved = {key: 0 for key in initial}
    quantity = dict(initial)
    final = set()
    for group in groups:
        for franchise_id in sim.store.get_order("moisim", f"MKP-{group}-01").franchise_ids:
            franchise = sim.store.get_order("moisim", franchise_id)
            final.add(franchise.status)
            for item in franchise.items:
                if franchise.status == Status.INVOICED:
                    quantity[(item.store_id, item.id)] -= item.quantity
                elif franchise.status != Status.CANCELED:
                    reserved[(item.store_id, item.id)] += item.quantity
    stock = {(s["storeId"], s["sku"]): s for s in sim.store.stock("moisim")}
    assert {k: s["reserved"] for k, s in stock.items()} == reserved
    assert {k: s["quantity"] for k, s in stock.items()} == quantity
    assert {Status.INVOICED, Status.CANCELED, Status.HANDLING} <= final  # the walk went everywhere that matters
