"""Order changes: sent to the marketplace as the MOI change callback, applied only when accepted."""

from __future__ import annotations

import pytest

from simulator.stub import MarketplaceStub, Reply
from tests import seeds
from tests.conftest import Sim

ORDER = seeds.SEED_ORDER_ID
GROUP = "externalMarketplace10"
CHANGES = f"/api/oms/pvt/orders/{ORDER}/changes"


def change(request_id: str = "chg-1", **extra) -> dict:
    body = {"requestId": request_id, "reason": "Add item XPTO", "discountValue": 0, "incrementValue": 0,
            "itemsRemoved": [], "itemsAdded": [{"id": "8", "quantity": 1, "price": 12}]}
    body.update(extra)
    return body


async def settle(sim: Sim, marketplace: MarketplaceStub, count: int = 1) -> None:
    await marketplace.wait_for(count, "change")
    await sim.dispatcher.drain()


async def test_an_accepted_change_is_sent_as_the_seed_says_and_applied(sim: Sim, marketplace: MarketplaceStub) -> None:
    await sim.handling(endpoint=f"{marketplace.url}/api/orders?parameter=value")
    _, receipt = await sim.call("POST", CHANGES, role="seller", json=change(), expect=200)
    assert set(receipt) == {"date", "orderId", "receipt"}
    await settle(sim, marketplace)
    [call] = marketplace.calls_of("change")
    assert call.path == f"/api/orders/pvt/orders/{GROUP}/changes" and call.query == {"parameter": "value"}
    assert call.body == {"reason": "Add item XPTO", "discountValue": 0, "incrementValue": 0, "itemsRemoved": [],
                         "itemsAdded": [{"sellerItemId": "8", "quantity": 1, "price": 12, "unitMultiplier": 1.0,
                                         "measurementUnit": "un"}]}
    order = await sim.order(ORDER)
    assert order["value"] == 144
    assert [(i["id"], i["quantity"]) for i in order["items"]] == [("8", 1), ("36", 1), ("8", 1)]
    data = order["changesAttachment"]["changesData"][0]
    assert data["itemsAdded"][0]["id"] == "8" and data["receipt"]["receipt"] == receipt["receipt"]
    reserved = {(s["storeId"], s["sku"]): s["reserved"] for s in sim.store.stock("moisim")}
    assert reserved[("franquia-centro", "8")] == 2
    franchise = await sim.order("FRC-" + ORDER)
    assert [i["id"] for i in franchise["items"]] == ["8", "36", "8"]


async def test_removing_an_item_and_a_discount(sim: Sim, marketplace: MarketplaceStub) -> None:
    await sim.handling(endpoint=marketplace.url)
    await sim.call("POST", CHANGES, role="seller", expect=200, json=change(
        itemsAdded=[], itemsRemoved=[{"sellerItemId": "36", "quantity": 1, "price": 120}], discountValue=2))
    await settle(sim, marketplace)
    order = await sim.order(ORDER)
    assert [i["id"] for i in order["items"]] == ["8"]
    assert order["value"] == 10
    assert {t["id"]: t["value"] for t in order["totals"]}["Discounts"] == -2
    assert sum(s["reserved"] for s in sim.store.stock("moisim")) == 1
    _, listed = await sim.call("GET", "/api/oms/pvt/orders")  # the list's figures follow the change
    assert (listed["list"][0]["totalValue"], listed["list"][0]["totalItems"]) == (10, 1)
    figures = listed["stats"]["stats"]
    assert (figures["totalValue"]["Sum"], figures["totalItems"]["Sum"]) == (10, 1)
    # The order now invoices at its new value.
    await sim.call("POST", f"/api/oms/pvt/orders/{ORDER}/invoice", role="seller", expect=200,
                   json=seeds.invoice_body("nf", 10, items=[{"id": "8", "price": 12, "quantity": 1}]))
    assert (await sim.order(ORDER))["status"] == "invoiced"


async def test_an_increment(sim: Sim, marketplace: MarketplaceStub) -> None:
    await sim.handling(endpoint=marketplace.url)
    await sim.call("POST", CHANGES, role="seller", json=change(itemsAdded=[], incrementValue=300), expect=200)
    await settle(sim, marketplace)
    assert (await sim.order(ORDER))["value"] == 432


async def test_a_change_refused_with_500_is_final_and_not_applied(sim: Sim, marketplace: MarketplaceStub) -> None:
    await sim.handling(endpoint=marketplace.url)
    marketplace.script("change", 500)
    await sim.call("POST", CHANGES, role="seller", json=change(), expect=200)
    await settle(sim, marketplace)
    await sim.advance(3600)
    await sim.dispatcher.drain()
    assert len(marketplace.calls_of("change")) == 1
    order = await sim.order(ORDER)
    assert order["value"] == 132 and order["changesAttachment"] is None
    _, view = await sim.call("GET", f"/_sim/orders/{ORDER}", role="admin")
    assert view["changes"][0]["state"] == "refused"
    assert view["callbacks"][0]["state"] == "refused"


async def test_a_change_is_retried_after_a_timeout_then_applied(make_sim, marketplace: MarketplaceStub) -> None:
    sim = await make_sim(callbacks={"timeout": "200ms"})
    await sim.handling(endpoint=marketplace.url)
    marketplace.script("change", Reply.timeout(1.0))
    await sim.call("POST", CHANGES, role="seller", json=change(), expect=200)
    await settle(sim, marketplace)
    assert (await sim.order(ORDER))["value"] == 132
    await sim.advance(1)
    await settle(sim, marketplace, 2)
    assert (await sim.order(ORDER))["value"] == 144


async def test_a_repeated_request_id_sends_nothing(sim: Sim, marketplace: MarketplaceStub) -> None:
    await sim.handling(endpoint=marketplace.url)
    _, first = await sim.call("POST", CHANGES, role="seller", json=change(), expect=200)
    await settle(sim, marketplace)
    _, again = await sim.call("POST", CHANGES, role="seller", json=change(incrementValue=5), expect=200)
    assert again == first
    await sim.dispatcher.drain()
    assert len(marketplace.calls_of("change")) == 1
    assert (await sim.order(ORDER))["value"] == 144


async def test_a_malformed_acceptance_still_applies(sim: Sim, marketplace: MarketplaceStub) -> None:
    await sim.handling(endpoint=marketplace.url)
    marketplace.script("change", Reply(200, body={"ok": True}))
    await sim.call("POST", CHANGES, role="seller", json=change(), expect=200)
    await settle(sim, marketplace)
    assert (await sim.order(ORDER))["value"] == 144
    [delivery] = sim.store.deliveries("moisim", ORDER)
    assert delivery.outcome["replyConforms"] is False


@pytest.mark.parametrize("body,code,text", [
    (change(itemsRemoved=[{"id": "36", "quantity": 2, "price": 120}], itemsAdded=[]), "CHK0023", "itemsRemoved[0]"),
    (change(itemsRemoved=[{"id": "103", "quantity": 1, "price": 1}], itemsAdded=[]), "CHK0023", "103"),
    (change(itemsRemoved=[{"id": "36", "quantity": 1, "price": 120}, {"id": "36", "quantity": 1, "price": 120}],
            itemsAdded=[]), "CHK0023", "itemsRemoved[1] removes 1 of SKU 36 (2 with the lines before it), the order has 1"),
    (change(itemsAdded=[{"id": "999", "quantity": 2, "price": 1}, {"id": "999", "quantity": 2, "price": 1}]),
     "ORD027", "itemsAdded[1]"),
    (change(itemsAdded=[{"id": "nope", "quantity": 1, "price": 1}]), "ORD027", "itemsAdded[0]"),
    (change(itemsAdded=[{"id": "999", "quantity": 50, "price": 1}]), "ORD027", "itemsAdded[0]"),
    (change(itemsAdded=[], discountValue=1000), "SIM009", "discountValue"),
    (change(itemsAdded=[{"id": "101", "quantity": 900000, "price": 100000000000}]), "SIM009", "over 9007199254740991"),
    ({"reason": "x", "discountValue": 0, "incrementValue": 0}, "SIM002", "requestId"),
    (change(itemsAdded=[{"quantity": 1, "price": 1}]), "SIM002", "itemsAdded[0]"),
])
async def test_bad_changes(sim: Sim, body: dict, code: str, text: str) -> None:
    await sim.handling()
    status, reply = await sim.call("POST", CHANGES, role="seller", json=body)
    assert (status, reply["error"]["code"]) == (400, code), reply
    assert text in reply["error"]["message"]
    assert sim.store.deliveries("moisim", ORDER) == []


async def test_changes_need_an_order_in_handling(sim: Sim) -> None:
    await sim.place()
    status, body = await sim.call("POST", CHANGES, role="seller", json=change())
    assert (status, body["error"]["code"]) == (409, "OMS003")


async def test_a_change_may_add_an_unlisted_sku_when_unknown_skus_are_accepted(make_sim,
                                                                             marketplace: MarketplaceStub) -> None:
    sim = await make_sim(placement={"unknown-skus": "accept"})
    await sim.handling(endpoint=marketplace.url)
    await sim.call("POST", CHANGES, role="seller", json=change(itemsAdded=[{"id": "ABC-9", "quantity": 1, "price": 350}]),
                   expect=200)
    await settle(sim, marketplace)
    [call] = marketplace.calls_of("change")
    assert call.body["itemsAdded"] == [{"sellerItemId": "ABC-9", "quantity": 1, "price": 350, "unitMultiplier": 1.0,
                                        "measurementUnit": "un"}]
    order = await sim.order(ORDER)
    assert [(i["id"], i["name"], i["price"]) for i in order["items"]][-1] == ("ABC-9", "SKU ABC-9", 350)
    assert order["value"] == 132 + 350
    reserved = {(s["storeId"], s["sku"]): s["reserved"] for s in sim.store.stock("moisim")}
    assert reserved[("franquia-centro", "ABC-9")] == 1


async def test_a_refused_unlisted_sku_leaves_no_stock_behind(sim: Sim) -> None:
    await sim.handling()
    status, reply = await sim.call("POST", CHANGES, role="seller",
                                   json=change(itemsAdded=[{"id": "ABC-9", "quantity": 1, "price": 350}]))
    assert (status, reply["error"]["code"]) == (400, "ORD027")
    assert not [s for s in sim.store.stock("moisim") if s["sku"] == "ABC-9"]


async def test_a_change_refused_after_its_unlisted_sku_got_stock_rows_leaves_none(make_sim) -> None:
    """With unknown SKUs accepted, an added SKU the catalog does not list gets stock rows before
    the free units are counted; a change refused after that (a discount below zero) keeps none."""
    sim = await make_sim(placement={"unknown-skus": "accept"})
    await sim.handling()
    status, reply = await sim.call("POST", CHANGES, role="seller",
                                   json=change(itemsAdded=[{"id": "ABC-9", "quantity": 1, "price": 350}],
                                               discountValue=10_000))
    assert (status, reply["error"]["code"]) == (400, "SIM009")
    assert not [s for s in sim.store.stock("moisim") if s["sku"] == "ABC-9"]
    assert (await sim.order(ORDER))["changesAttachment"] is None


def stores(centro: dict, norte: dict) -> list[dict]:
    return [{"id": "franquia-centro", "name": "Franquia Centro", "affiliate-id": "FRC",
             "slas": ["Normal", "Retirada (14b25e5)"], "stock": {"default": 1000000, **centro}},
            {"id": "franquia-norte", "name": "Franquia Norte", "affiliate-id": "FRN", "slas": ["Normal"],
             "stock": {"default": 1000000, **norte}}]


def units(orders: list[dict]) -> dict[str, int]:
    total: dict[str, int] = {}
    for order in orders:
        for item in order["items"]:
            total[item["id"]] = total.get(item["id"], 0) + item["quantity"]
    return total


async def test_a_change_whose_units_went_before_it_was_accepted_moves_nothing(make_sim, marketplace: MarketplaceStub) -> None:
    """Two lines of one SKU that fit together when the change is asked for, whose units another
    order takes before the marketplace accepts it: the change fails and reserves none of them
    (it used to stop the dispatcher with an AssertionError; test_bad_changes has the refusal of
    two lines that do not fit together at the request)."""
    sim = await make_sim(callbacks={"timeout": "200ms"}, **{"franchise-stores": stores({"999": 3}, {"999": 0})})
    await sim.handling(endpoint=marketplace.url)
    once_each = [{"id": "999", "quantity": 1, "price": 99900}, {"id": "999", "quantity": 1, "price": 99900}]
    marketplace.script("change", Reply.timeout(1.0))  # the first attempt times out: the units go meanwhile
    await sim.call("POST", CHANGES, role="seller", json=change("chg-2", itemsAdded=once_each), expect=200)
    await settle(sim, marketplace)
    await sim.place("other", marketplace.url, items=[{"id": "999", "quantity": 2, "seller": "1", "price": 99900}],
                    shippingData={"logisticsInfo": [{"itemIndex": 0, "selectedSla": "Normal",
                                                     "selectedDeliveryChannel": "delivery", "price": 0}]})
    await sim.advance(1)  # the retry: accepted now
    await settle(sim, marketplace, 2)
    _, view = await sim.call("GET", f"/_sim/orders/{ORDER}", role="admin")
    assert view["changes"][-1]["state"] == "failed-no-stock"
    assert units([view["chainOrder"]]) == units(view["franchiseOrders"]) == {"8": 1, "36": 1}
    reserved = {(s["storeId"], s["sku"]): s["reserved"] for s in sim.store.stock("moisim")}
    assert reserved[("franquia-centro", "999")] == 2  # the other order's, none of the change's


async def test_removing_a_sku_that_two_franchise_orders_hold_removes_the_units_once(
        make_sim, marketplace: MarketplaceStub) -> None:
    sim = await make_sim(**{"franchise-stores": stores({"36": 1}, {"36": 2})})
    body = seeds.place_body(endpoint=marketplace.url)
    body["items"][1]["quantity"] = 2  # 36 x2: only the north store has two
    await sim.place(endpoint=marketplace.url, items=body["items"])
    await sim.authorize(ORDER, GROUP)
    await sim.advance(30 * 60)
    await sim.call("POST", f"/api/oms/pvt/orders/{ORDER}/start-handling", role="seller", expect=204)
    # One more 36: the north store has none left, so the centre's franchise order takes it.
    await sim.call("POST", CHANGES, role="seller", expect=200,
                   json=change(itemsAdded=[{"id": "36", "quantity": 1, "price": 120}]))
    await settle(sim, marketplace)
    _, view = await sim.call("GET", f"/_sim/orders/{ORDER}", role="admin")
    assert [units([f]) for f in view["franchiseOrders"]] == [{"8": 1, "36": 1}, {"36": 2}]

    await sim.call("POST", CHANGES, role="seller", expect=200, json=change(
        "chg-2", itemsAdded=[], itemsRemoved=[{"id": "36", "quantity": 1, "price": 120}]))
    await settle(sim, marketplace, 2)
    _, view = await sim.call("GET", f"/_sim/orders/{ORDER}", role="admin")
    assert units([view["chainOrder"]]) == units(view["franchiseOrders"]) == {"8": 1, "36": 2}
    assert sum(s["reserved"] for s in sim.store.stock("moisim") if s["sku"] == "36") == 2


async def test_a_change_accepted_after_one_franchise_order_was_invoiced_is_not_applied(
        make_sim, marketplace: MarketplaceStub) -> None:
    """Found by tests/test_random_traffic.py: the change used to add its line to the invoiced
    franchise order, whose reserved unit then never left the stock."""
    sim = await make_sim(callbacks={"timeout": "200ms"}, **{"franchise-stores": stores({"36": 0}, {})})
    await sim.handling(endpoint=marketplace.url)  # 8 at the centre (pickup), 36 in the north
    marketplace.script("change", Reply.timeout(1.0))
    await sim.call("POST", CHANGES, role="seller", expect=200,
                   json=change(itemsAdded=[{"id": "8", "quantity": 1, "price": 12}]))
    await settle(sim, marketplace)
    centre = "FRC-" + ORDER
    await sim.call("POST", f"/api/oms/pvt/orders/{centre}/invoice", role="seller", expect=200,
                   json=seeds.invoice_body("nf-centre", 12, items=[{"id": "8", "price": 12, "quantity": 1}]))
    assert (await sim.order(centre))["status"] == "invoiced"
    await sim.advance(1)  # the retry: accepted now
    await settle(sim, marketplace, 2)
    _, view = await sim.call("GET", f"/_sim/orders/{ORDER}", role="admin")
    assert view["changes"][0]["state"] == "accepted-not-applied"
    assert units([view["chainOrder"]]) == units(view["franchiseOrders"]) == {"8": 1, "36": 1}
    rows = {(s["storeId"], s["sku"]): (s["quantity"], s["reserved"]) for s in sim.store.stock("moisim")}
    assert rows[("franquia-centro", "8")] == (999999, 0)
    assert rows[("franquia-norte", "36")] == (1000000, 1)


async def test_an_outcome_that_cannot_be_recorded_ends_the_delivery_instead_of_resending_it(
        sim: Sim, marketplace: MarketplaceStub, monkeypatch: pytest.MonkeyPatch) -> None:
    """A defect while applying an accepted change (one such was an AssertionError) rolls the order
    back; the delivery ends failed with the reason instead of going out again at once, for ever."""
    await sim.handling(endpoint=marketplace.url)

    def broken(*args: object) -> None:
        raise RuntimeError("a defect in applying the change")

    monkeypatch.setattr(sim.service, "_apply_change", broken)
    await sim.call("POST", CHANGES, role="seller", json=change(), expect=200)
    await settle(sim, marketplace)
    await sim.advance(3600)
    await sim.dispatcher.drain()
    assert len(marketplace.calls_of("change")) == 1
    _, view = await sim.call("GET", f"/_sim/orders/{ORDER}", role="admin")
    assert view["callbacks"][0]["state"] == "failed"
    last = view["callbacks"][0]["lastAttempt"]
    assert last["outcome"] == "error" and last["status"] == 200
    assert "RuntimeError: a defect in applying the change" in last["error"]
    assert view["changes"][0]["state"] == "pending"  # rolled back with the failed transaction
    assert units([view["chainOrder"]]) == {"8": 1, "36": 1}
