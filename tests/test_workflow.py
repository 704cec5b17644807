"""The workflow table and timed transitions on the virtual clock."""

from __future__ import annotations

from simulator.domain import workflow
from simulator.domain.workflow import FRANCHISE, CHAIN, PREVIOUS, Event, Kind, Status
from tests import seeds
from tests.conftest import Sim


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
