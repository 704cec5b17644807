"""Marketplace order authorization."""

from __future__ import annotations

from simulator.schemas import default_registry
from tests import seeds
from tests.conftest import Sim

AUTH = f"/api/checkout/pvt/orders/{seeds.SEED_ORDER_ID}/receipts/marketplace-order-authorization"


async def test_authorization_moves_the_order_on(sim: Sim) -> None:
    await sim.place()
    body = await sim.authorize(seeds.SEED_ORDER_ID, "externalMarketplace10")
    assert default_registry().findings("authorization.response", body) == []
    assert body["orderId"] == seeds.SEED_ORDER_ID
    assert body["marketplaceOrderId"] == "externalMarketplace10"
    chain = await sim.order(seeds.SEED_ORDER_ID)
    assert chain["status"] == "payment-approved"
    assert chain["authorizedDate"] is not None
    franchise = await sim.order(chain["franchiseOrderIds"][0])
    assert franchise["status"] == "window-to-cancel"
    # The items and the shipping dates the authorization fixed, as VTEX's own MOI client reads them.
    assert body["items"] == [{"id": "8", "quantity": 1, "seller": "1", "price": 12},
                             {"id": "36", "quantity": 1, "seller": "1", "price": 120}]
    assert body["shippingData"]["logisticsInfo"] == [
        {"itemIndex": i, "selectedSLAId": info["selectedSla"], "selectedDeliveryChannel": info["selectedDeliveryChannel"],
         "shippingEstimateDate": info["shippingEstimateDate"]}
        for i, info in enumerate(chain["shippingData"]["logisticsInfo"])]
    assert all(info["shippingEstimateDate"] for info in body["shippingData"]["logisticsInfo"])


async def test_the_seeds_authorization_example_is_invalid_json_and_the_400_says_where(sim: Sim) -> None:
    await sim.place()
    status, body = await sim.call("POST", AUTH, data=seeds.AUTHORIZATION_TEXT)
    assert (status, body["error"]["code"]) == (400, "SIM001")
    # the seed's trailing comma after the first item, line 8 column 8
    assert "line 8 column 8" in body["error"]["message"] and "trailing comma" in body["error"]["message"]
    assert (await sim.order(seeds.SEED_ORDER_ID))["status"] == "waiting-for-mkt-authorization"


async def test_items_are_optional(sim: Sim) -> None:
    await sim.place()
    body = seeds.authorization_body()
    del body["items"]
    status, reply = await sim.call("POST", AUTH, json=body)
    assert status == 200, reply


async def test_order_group_must_match(sim: Sim) -> None:
    await sim.place()
    status, body = await sim.call("POST", AUTH, json=seeds.authorization_body("847392476"))
    assert (status, body["error"]["code"]) == (400, "CHK0144")
    assert "847392476" in body["error"]["message"]


async def test_missing_receipt_names_the_field(sim: Sim) -> None:
    await sim.place()
    body = seeds.authorization_body()
    del body["authorizationReceipt"]["receipt"]
    status, reply = await sim.call("POST", AUTH, json=body)
    assert status == 400
    assert "authorizationReceipt.receipt" in reply["error"]["message"]


async def test_a_repeated_authorization_gets_the_same_answer(sim: Sim) -> None:
    await sim.place()
    first = await sim.authorize(seeds.SEED_ORDER_ID, "externalMarketplace10")
    second = await sim.authorize(seeds.SEED_ORDER_ID, "externalMarketplace10")
    assert first == second
    chain = sim.service.order("moisim", seeds.SEED_ORDER_ID)
    assert [t.to_status for t in chain.timeline].count("payment-approved") == 1


async def test_unknown_order_is_404(sim: Sim) -> None:
    status, body = await sim.call("POST", AUTH.replace(seeds.SEED_ORDER_ID, "MKP-nope-01"),
                                  json=seeds.authorization_body())
    assert (status, body["error"]["code"]) == (404, "CHK0201")


async def test_a_canceled_order_cannot_be_authorized(sim: Sim) -> None:
    await sim.place()
    await sim.call("POST", f"/api/oms/pvt/orders/{seeds.SEED_ORDER_ID}/cancel", json={}, expect=200)
    status, body = await sim.call("POST", AUTH, json=seeds.authorization_body())
    assert (status, body["error"]["code"]) == (400, "CHK0242")


async def test_a_franchise_order_is_not_authorized_by_the_marketplace(sim: Sim) -> None:
    await sim.place()
    status, body = await sim.call("POST", AUTH.replace(seeds.SEED_ORDER_ID, "FRC-" + seeds.SEED_ORDER_ID),
                                  json=seeds.authorization_body())
    assert (status, body["error"]["code"]) == (400, "CHK0092")


async def test_seller_keys_may_not_authorize(sim: Sim) -> None:
    await sim.place()
    status, body = await sim.call("POST", AUTH, role="seller", json=seeds.authorization_body())
    assert status == 403
