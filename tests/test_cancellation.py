"""Cancellation from both sides: inside the window, after it, accepted and denied."""

from __future__ import annotations

from tests import seeds
from tests.conftest import Sim

ORDER = seeds.SEED_ORDER_ID
CANCEL = f"/api/oms/pvt/orders/{ORDER}/cancel"
DENY = f"/api/orders/pvt/document/{ORDER}/deny-cancellation-request"
INVOICE = f"/api/oms/pvt/orders/{ORDER}/invoice"


def reserved(sim: Sim) -> int:
    return sum(s["reserved"] for s in sim.store.stock("moisim"))


async def test_before_authorization_cancels_at_once_and_releases_stock(sim: Sim) -> None:
    await sim.place()
    assert reserved(sim) == 2
    status, body = await sim.call("POST", CANCEL, json={"reason": "customer gave up"})
    assert status == 200
    assert set(body) == {"date", "orderId", "receipt"} and body["orderId"] == ORDER
    chain = await sim.order(ORDER)
    assert chain["status"] == "canceled"
    assert chain["cancelReason"] == "customer gave up"
    assert chain["cancellationData"]["RequestedByUser"] is True
    assert (await sim.order("FRC-" + ORDER))["status"] == "canceled"
    assert reserved(sim) == 0
    assert sim.store.deliveries("moisim", ORDER) == []  # the marketplace asked: no seller-cancellation callback


async def test_inside_the_window_cancels_at_once(sim: Sim) -> None:
    await sim.place()
    await sim.authorize(ORDER, "externalMarketplace10")
    await sim.advance(29 * 60)
    await sim.call("POST", CANCEL, json={}, expect=200)
    assert (await sim.order(ORDER))["status"] == "canceled"
    assert reserved(sim) == 0
    await sim.advance(3600)  # the window's timer was cleared with the order
    assert (await sim.order("FRC-" + ORDER))["status"] == "canceled"


async def test_after_the_window_it_waits_for_the_seller_who_accepts(sim: Sim) -> None:
    await sim.ready_for_handling()
    status, body = await sim.call("POST", CANCEL, json={"reason": "late"}, expect=200)
    chain = await sim.order(ORDER)
    assert chain["status"] == "waiting-for-seller-decision"
    assert chain["cancellationRequests"][0]["reason"] == "late"
    assert (await sim.order("FRC-" + ORDER))["status"] == "cancellation-requested"
    assert reserved(sim) == 2
    await sim.call("POST", CANCEL, json={}, expect=200)  # asking again changes nothing
    assert (await sim.order(ORDER))["status"] == "waiting-for-seller-decision"
    await sim.call("POST", CANCEL, role="seller", json={"reason": "accepted"}, expect=200)
    assert (await sim.order(ORDER))["status"] == "canceled"
    assert reserved(sim) == 0
    [delivery] = sim.store.deliveries("moisim", ORDER)
    assert delivery.kind == "seller-cancellation"
    assert delivery.body == {"id": "sellerOrderCancelled", "sellerOrderId": ORDER}


async def test_a_partial_invoice_declines_a_pending_request_and_no_timeout_cancels_it(sim: Sim) -> None:
    """A seller refuses a cancellation request by sending the invoice (VTEX's guides). A partial one
    declines the request too, and a partially invoiced order cannot be canceled: the
    seller-decision timeout, once due, must not cancel it (it used to, invoices and all)."""
    await sim.handling()
    await sim.call("POST", CANCEL, json={"reason": "late"}, expect=200)
    await sim.call("POST", INVOICE, role="seller", expect=200,
                   json=seeds.invoice_body("nf-1", 12, items=[{"id": "8", "price": 12, "quantity": 1}]))
    chain = await sim.order(ORDER)
    assert chain["status"] == "payment-approved"
    [request] = chain["cancellationRequests"]
    assert request["deniedBySeller"] is True and request["cancellationRequestDenyDate"]
    assert request["deniedBySellerReason"] == "The seller sent invoice nf-1 and goes on with the order"
    assert (await sim.order("FRC-" + ORDER))["status"] == "handling"  # where it was before the request
    await sim.advance(31 * 24 * 3600)  # past seller-decision-timeout (30 days)
    assert (await sim.order(ORDER))["status"] == "payment-approved"
    assert reserved(sim) == 2
    await sim.call("POST", CANCEL, role="seller", json={}, expect=400)  # partially invoiced: CHK0202
    await sim.call("POST", INVOICE, role="seller", expect=200,
                   json=seeds.invoice_body("nf-2", 120, items=[{"id": "36", "price": 120, "quantity": 1}]))
    assert (await sim.order(ORDER))["status"] == "invoiced"
    assert reserved(sim) == 0


async def test_a_full_invoice_declines_a_pending_request_and_invoices_the_order(sim: Sim) -> None:
    await sim.handling()
    await sim.call("POST", CANCEL, json={}, expect=200)
    await sim.call("POST", INVOICE, role="seller", json=seeds.invoice_body("nf-1", 132), expect=200)
    chain = await sim.order(ORDER)
    assert chain["status"] == "invoiced"
    assert chain["cancellationRequests"][0]["deniedBySeller"] is True
    assert (await sim.order("FRC-" + ORDER))["status"] == "invoiced"
    assert reserved(sim) == 0
    _, view = await sim.call("GET", f"/_sim/orders/{ORDER}", role="admin", expect=200)
    # Declined first, then invoiced: the franchise order goes back to handling on the way.
    assert [(m["orderId"][:3], m["to"], m["event"]) for m in view["timeline"]][-6:] == [
        ("MKP", "waiting-for-seller-decision", "cancel-request"), ("FRC", "cancellation-requested", "cancel-request"),
        ("MKP", "payment-approved", "cancel-deny"), ("FRC", "handling", "cancel-deny"),
        ("MKP", "invoiced", "invoice-full"), ("FRC", "invoiced", "invoice-full")]


async def test_the_seller_denies_a_request_and_the_order_goes_back(sim: Sim) -> None:
    await sim.handling()
    await sim.call("POST", CANCEL, json={}, expect=200)
    request_id = (await sim.order(ORDER))["cancellationRequests"][0]["id"]
    status, body = await sim.call("POST", DENY, role="seller",
                                  json={"cancellationRequestId": request_id, "denyReason": "already shipped"})
    assert status == 200
    chain = await sim.order(ORDER)
    assert chain["status"] == "payment-approved"
    assert chain["cancellationRequests"][0]["deniedBySeller"] is True
    assert (await sim.order("FRC-" + ORDER))["status"] == "handling"  # where it was before the request
    status, body = await sim.call("POST", DENY, role="seller", json={})
    assert (status, body["error"]["code"]) == (400, "SIM007")


async def test_deny_with_a_wrong_request_id(sim: Sim) -> None:
    await sim.ready_for_handling()
    await sim.call("POST", CANCEL, json={}, expect=200)
    status, body = await sim.call("POST", DENY, role="seller", json={"cancellationRequestId": "nope"})
    assert (status, body["error"]["code"]) == (400, "SIM007")


async def test_an_unanswered_request_is_accepted_after_thirty_days(sim: Sim) -> None:
    await sim.ready_for_handling()
    await sim.call("POST", CANCEL, json={}, expect=200)
    await sim.advance(30 * 86400)
    chain = await sim.order(ORDER)
    assert chain["status"] == "canceled"
    assert chain["cancellationData"]["RequestedBySystem"] is True
    assert [d.kind for d in sim.store.deliveries("moisim", ORDER)] == ["seller-cancellation"]


async def test_the_seller_cancels_on_its_own(sim: Sim) -> None:
    await sim.handling()
    await sim.call("POST", CANCEL, role="seller", json={"reason": "no stock after all"}, expect=200)
    chain = await sim.order(ORDER)
    assert chain["status"] == "canceled"
    assert chain["cancellationData"]["RequestedBySellerNotification"] is True
    assert reserved(sim) == 0
    assert [d.kind for d in sim.store.deliveries("moisim", ORDER)] == ["seller-cancellation"]
    await sim.call("POST", CANCEL, role="seller", json={}, expect=200)  # again: answered, nothing sent twice
    assert len(sim.store.deliveries("moisim", ORDER)) == 1


async def test_invoiced_and_partially_invoiced_orders_cannot_be_canceled(sim: Sim) -> None:
    await sim.handling()
    await sim.call("POST", f"/api/oms/pvt/orders/{ORDER}/invoice", role="seller",
                   json=seeds.invoice_body("part-1", 12), expect=200)
    for role in ("marketplace", "seller"):
        status, body = await sim.call("POST", CANCEL, role=role, json={})
        assert (status, body["error"]["code"]) == (400, "CHK0202"), role
        assert "partially invoiced" in body["error"]["message"]
    await sim.call("POST", f"/api/oms/pvt/orders/{ORDER}/invoice", role="seller",
                   json=seeds.invoice_body("part-2", 120), expect=200)
    status, body = await sim.call("POST", CANCEL, json={})
    assert (status, body["error"]["code"]) == (400, "CHK0202")
    assert f"Order {ORDER} cannot be cancelled in status invoiced" == body["error"]["message"]


async def test_cancel_body_is_optional_but_must_be_valid(sim: Sim) -> None:
    await sim.place()
    status, body = await sim.call("POST", CANCEL, data='{"reason": 5}')
    assert status == 400 and "reason" in body["error"]["message"]
    status, body = await sim.call("POST", CANCEL, data="")
    assert status == 200


async def test_unknown_order(sim: Sim) -> None:
    status, body = await sim.call("POST", "/api/oms/pvt/orders/MKP-x-01/cancel", json={})
    assert (status, body["error"]["code"]) == (404, "CHK0201")
