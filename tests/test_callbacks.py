"""Callbacks to the marketplace: URLs, bodies, retries, ordering, verdicts and the journal."""

from __future__ import annotations

import asyncio
import logging
import socket
import sqlite3
import ssl
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any, AsyncIterator

import aiohttp
import pytest

from simulator import jsontext
from simulator.clock import iso
from simulator.outbox.dispatcher import MAX_REPLY_BYTES, read_reply
from simulator.scheduler import VIRTUAL_NOW
from simulator.store.base import Delivery
from simulator.stub import MarketplaceStub, Reply
from tests import seeds
from tests.conftest import LoopTurns, Sim, sim_config

ORDER = seeds.SEED_ORDER_ID
GROUP = "externalMarketplace10"


def endpoint(stub: MarketplaceStub) -> str:
    return f"{stub.url}/api/orders?parameter=value"  # a path and a query string, as in the seed


async def invoice(sim: Sim, body: dict, order: str = ORDER, expect: int = 200):
    return (await sim.call("POST", f"/api/oms/pvt/orders/{order}/invoice", role="seller", json=body, expect=expect))[1]


async def test_full_invoice_reaches_the_marketplace_at_the_seed_url(sim: Sim, marketplace: MarketplaceStub) -> None:
    await sim.handling(endpoint=endpoint(marketplace))
    receipt = await invoice(sim, seeds.invoice_body("7999972", "132"))
    assert set(receipt) == {"date", "orderId", "receipt"} and receipt["orderId"] == ORDER
    [call] = await marketplace.wait_for(1, "invoice")
    assert call.path == f"/api/orders/api/oms/pvt/orders/{GROUP}/invoice"
    assert call.query == {"parameter": "value"}
    assert call.body == {
        "type": "Output", "invoiceNumber": "7999972", "invoiceValue": 132, "issuanceDate": "2019-02-07T02:00:00.000Z",
        "invoiceUrl": "http://www.invoiceu.rl", "invoiceKey": "799", "trackingNumber": "", "trackingUrl": "",
        "courier": "", "items": [{"id": "8", "price": 12, "quantity": 1}, {"id": "36", "price": 120, "quantity": 1}]}
    order = await sim.order(ORDER)
    assert order["status"] == "invoiced" and order["invoicedDate"]
    assert order["packageAttachment"]["packages"][0]["invoiceValue"] == 132
    assert (await sim.order("FRC-" + ORDER))["status"] == "invoiced"
    await sim.dispatcher.drain()
    [delivery] = sim.store.deliveries("moisim", ORDER)
    assert delivery.state == "delivered" and delivery.attempts == 1
    assert delivery.outcome["replyConforms"] is True
    stock = {(s["storeId"], s["sku"]): s for s in sim.store.stock("moisim")}
    assert stock[("franquia-centro", "8")]["quantity"] == 999_999 and stock[("franquia-centro", "8")]["reserved"] == 0


@pytest.mark.parametrize("preset,path", [
    ("pub", f"/api/orders/api/oms/pub/orders/{GROUP}/invoice"),
    ("vtex-protocol", f"/api/orders/pvt/orders/{GROUP}/invoice"),
    ("/custom/{orderId}/nf", f"/api/orders/custom/{ORDER}/nf"),
])
async def test_invoice_url_presets(make_sim, marketplace: MarketplaceStub, preset: str, path: str) -> None:
    sim = await make_sim(callbacks={"invoice": preset})
    await sim.handling(endpoint=endpoint(marketplace))
    await invoice(sim, seeds.invoice_body())
    [call] = await marketplace.wait_for(1)
    assert call.path == path and call.query == {"parameter": "value"}


async def test_partial_invoices_add_up(sim: Sim, marketplace: MarketplaceStub) -> None:
    await sim.handling(endpoint=endpoint(marketplace))
    await invoice(sim, seeds.invoice_body("nf-1", 12, items=[{"id": "8", "price": 12, "quantity": 1}]))
    assert (await sim.order(ORDER))["status"] == "payment-approved"
    await invoice(sim, seeds.invoice_body("nf-2", "120", items=[{"id": "36", "price": 120, "quantity": 1}]))
    assert (await sim.order(ORDER))["status"] == "invoiced"
    calls = await marketplace.wait_for(2, "invoice")
    assert [c.body["invoiceNumber"] for c in calls] == ["nf-1", "nf-2"]
    status, body = await sim.call("POST", f"/api/oms/pvt/orders/{ORDER}/invoice", role="seller",
                                  json=seeds.invoice_body("nf-3", 5))
    assert (status, body["error"]["code"]) == (400, "ORD039")


async def test_a_repeated_invoice_is_recorded_once_and_sent_again(sim: Sim, marketplace: MarketplaceStub) -> None:
    await sim.handling(endpoint=endpoint(marketplace))
    first = await invoice(sim, seeds.invoice_body("nf-1", 12))
    second = await invoice(sim, seeds.invoice_body("nf-1", 12))
    assert first["receipt"] != second["receipt"]
    order = await sim.order(ORDER)
    assert len(order["packageAttachment"]["packages"]) == 1
    assert order["packageAttachment"]["packages"][0]["receipt"] == second["receipt"]
    calls = await marketplace.wait_for(2, "invoice")
    assert calls[0].body == calls[1].body


async def test_tracking_is_recorded_and_resent(sim: Sim, marketplace: MarketplaceStub) -> None:
    await sim.handling(endpoint=endpoint(marketplace))
    await invoice(sim, seeds.invoice_body())
    _, receipt = await sim.call("PATCH", f"/api/oms/pvt/orders/{ORDER}/invoice/7999972", role="seller", json={
        "trackingNumber": "9997LUX", "trackingUrl": "http://www.trackingu.rl", "courier": "All postal codes",
        "dispatchedDate": "2019-02-08T10:00:00Z"}, expect=200)
    assert receipt["orderId"] == ORDER
    calls = await marketplace.wait_for(2, "invoice")
    assert calls[1].body["trackingNumber"] == "9997LUX"
    assert calls[1].body["courier"] == "All postal codes"
    assert calls[1].body["invoiceNumber"] == "7999972"
    package = (await sim.order(ORDER))["packageAttachment"]["packages"][0]
    assert package["trackingUrl"] == "http://www.trackingu.rl"
    status, body = await sim.call("PATCH", f"/api/oms/pvt/orders/{ORDER}/invoice/nope", role="seller",
                                  json={"trackingNumber": "x"})
    assert (status, body["error"]["code"]) == (404, "ORD038")
    status, body = await sim.call("PATCH", f"/api/oms/pvt/orders/{ORDER}/invoice/7999972", role="seller", json={})
    assert status == 400 and "trackingNumber" in body["error"]["message"]


async def test_return_invoices_only_after_invoicing(sim: Sim, marketplace: MarketplaceStub) -> None:
    await sim.handling(endpoint=endpoint(marketplace))
    status, body = await sim.call("POST", f"/api/oms/pvt/orders/{ORDER}/invoice", role="seller",
                                  json=seeds.invoice_body("ret-1", 12, kind="Input"))
    assert (status, body["error"]["code"]) == (400, "ORD039")
    await invoice(sim, seeds.invoice_body())
    await invoice(sim, seeds.invoice_body("ret-1", 12, kind="Input"))
    calls = await marketplace.wait_for(2, "invoice")
    assert calls[1].body["type"] == "Input"
    assert (await sim.order(ORDER))["status"] == "invoiced"


@pytest.mark.parametrize("changes,field", [
    ({"invoiceValue": 0}, "invoiceValue"), ({"invoiceValue": "12.5"}, "invoiceValue"), ({"type": "Gift"}, "type"),
    ({"invoiceNumber": "a b"}, "invoiceNumber"), ({"items": []}, "items"),
])
async def test_bad_invoices_name_the_field(sim: Sim, changes: dict, field: str) -> None:
    await sim.handling()
    status, body = await sim.call("POST", f"/api/oms/pvt/orders/{ORDER}/invoice", role="seller",
                                  json=seeds.invoice_body(**changes) if "invoiceNumber" not in changes else
                                  {**seeds.invoice_body(), **changes})
    assert status == 400 and field in body["error"]["message"]


async def test_invoice_before_the_window_closes_is_refused(sim: Sim) -> None:
    await sim.place()
    await sim.authorize(ORDER, GROUP)
    status, body = await sim.call("POST", f"/api/oms/pvt/orders/{ORDER}/invoice", role="seller",
                                  json=seeds.invoice_body())
    assert (status, body["error"]["code"]) == (400, "ORD039")
    assert "window-to-cancel" in body["error"]["message"]


async def test_marketplace_keys_may_not_invoice(sim: Sim) -> None:
    await sim.handling()
    status, _ = await sim.call("POST", f"/api/oms/pvt/orders/{ORDER}/invoice", json=seeds.invoice_body())
    assert status == 403


# --- retries and faults -------------------------------------------------------------------------
async def test_5xx_timeouts_and_dropped_connections_are_retried(make_sim, marketplace: MarketplaceStub) -> None:
    sim = await make_sim(callbacks={"timeout": "200ms", "backoff": "10s"})
    await sim.handling(endpoint=endpoint(marketplace))
    marketplace.script("invoice", 500, Reply.timeout(1.0), Reply.dropped(), 503)
    await invoice(sim, seeds.invoice_body())
    await marketplace.wait_for(1, "invoice")
    await sim.dispatcher.drain()
    for expected in (2, 3, 4, 5):
        await sim.advance(10 * 2 ** (expected - 2))  # the back-off runs on the virtual clock
        await sim.dispatcher.drain()
        assert len(marketplace.calls_of("invoice")) == expected
    [delivery] = sim.store.deliveries("moisim", ORDER)
    assert delivery.state == "delivered" and delivery.attempts == 5
    _, journal = await sim.call("GET", f"/_sim/journal?orderId={ORDER}&direction=out", role="admin", expect=200)
    attempts = journal["entries"]
    assert [a["attempt"] for a in attempts] == [1, 2, 3, 4, 5]
    assert [a["status"] for a in attempts] == [500, None, None, 503, 200]
    assert attempts[1]["error"].startswith("timeout")
    assert attempts[2]["error"].startswith("connection error")
    assert [a["outcome"] for a in attempts] == ["retrying"] * 4 + ["accepted"]
    assert all(a["url"].endswith("?parameter=value") for a in attempts)
    assert all(a["body"] == marketplace.calls_of("invoice")[0].body for a in attempts)  # what was sent
    assert {"date", "orderId", "receipt"} <= set(attempts[4]["reply"])  # what came back


async def invoice_answered_503_then_200(sim: Sim, marketplace: MarketplaceStub) -> None:
    await sim.handling(endpoint=endpoint(marketplace))
    marketplace.script("invoice", 503)
    await invoice(sim, seeds.invoice_body())
    await marketplace.wait_for(1, "invoice")
    await sim.dispatcher.drain()
    await sim.advance(60)  # the retry comes due
    await sim.dispatcher.drain()


async def test_a_callback_says_what_it_is_in_its_headers(sim: Sim, marketplace: MarketplaceStub) -> None:
    await invoice_answered_503_then_200(sim, marketplace)
    first, second = marketplace.calls_of("invoice")
    [delivery] = sim.store.deliveries("moisim", ORDER)
    for number, call in ((1, first), (2, second)):
        headers = {k.lower(): v for k, v in call.headers.items()}
        assert headers["content-type"] == "application/json"  # the stub keeps Content-Type and X-Moisim-*
        assert (headers["x-moisim-delivery"], headers["x-moisim-attempt"]) == (str(delivery.id), str(number))
    assert first.body == second.body == delivery.body  # the body as queued, sent again unchanged


async def test_the_log_tells_of_attempts_that_need_a_look(sim: Sim, marketplace: MarketplaceStub, caplog) -> None:
    import logging

    caplog.set_level(logging.DEBUG, logger="moisim.dispatcher")
    await invoice_answered_503_then_200(sim, marketplace)
    attempts = [(r.levelno, r.fields["outcome"]) for r in caplog.records if r.name == "moisim.dispatcher"]
    assert attempts == [(logging.INFO, "retrying"), (logging.DEBUG, "accepted")]  # the journal has both


async def test_retries_stop_after_the_configured_attempts(make_sim, marketplace: MarketplaceStub) -> None:
    sim = await make_sim(callbacks={"attempts": 2})
    await sim.handling(endpoint=endpoint(marketplace))
    marketplace.script("invoice", 500, 500, 500)
    await invoice(sim, seeds.invoice_body())
    await marketplace.wait_for(1)
    await sim.dispatcher.drain()
    await sim.advance(60)
    await sim.dispatcher.drain()
    await sim.advance(3600)
    await sim.dispatcher.drain()
    assert len(marketplace.calls) == 2
    [delivery] = sim.store.deliveries("moisim", ORDER)
    assert (delivery.state, delivery.outcome["outcome"]) == ("failed", "gave-up")


async def test_a_4xx_is_final(sim: Sim, marketplace: MarketplaceStub) -> None:
    await sim.handling(endpoint=endpoint(marketplace))
    marketplace.script("invoice", 404)
    await invoice(sim, seeds.invoice_body())
    await marketplace.wait_for(1)
    await sim.dispatcher.drain()
    await sim.advance(3600)
    await sim.dispatcher.drain()
    assert len(marketplace.calls) == 1
    assert sim.store.deliveries("moisim", ORDER)[0].state == "failed"


async def test_a_redirect_is_final_and_says_where_it_pointed(sim: Sim, marketplace: MarketplaceStub) -> None:
    """An http endpoint that answers 301 to https, say: not followed (a POST's body would not
    survive it), and the attempt says where to point the order instead."""
    await sim.handling(endpoint=endpoint(marketplace))
    marketplace.script("invoice", Reply(301, body="", headers={"Location": "https://mkp.example/api/orders"}))
    await invoice(sim, seeds.invoice_body())
    await marketplace.wait_for(1)
    await sim.dispatcher.drain()
    [delivery] = sim.store.deliveries("moisim", ORDER)
    assert (delivery.state, delivery.outcome["outcome"], delivery.outcome["status"]) == ("failed", "rejected", 301)
    assert delivery.outcome["error"].startswith("redirected to https://mkp.example/api/orders; moisim does not follow")


async def test_a_redirect_to_bytes_that_are_not_utf8_leaves_the_order_view_and_journal_readable(sim: Sim) -> None:
    """aiohttp reads such a Location as lone surrogates; stored, they were written as escapes
    orjson refuses to read back, so the order's view and the journal answered 500 for good."""
    async def redirect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), 0)
        await reader.readexactly(length)
        writer.write(b"HTTP/1.1 302 Found\r\nLocation: /to\xff\xfe\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(redirect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        await sim.handling(endpoint=f"http://127.0.0.1:{port}/api")
        await invoice(sim, seeds.invoice_body())
        await sim.dispatcher.drain()
    finally:
        server.close()
    [delivery] = sim.store.deliveries("moisim", ORDER)
    assert delivery.outcome["error"].startswith("redirected to /to\ufffd\ufffd; moisim does not follow")
    _, view = await sim.call("GET", f"/_sim/orders/{ORDER}", role="admin", expect=200)
    assert view["callbacks"][0]["lastAttempt"]["status"] == 302
    _, journal = await sim.call("GET", "/_sim/journal?direction=out", role="admin", expect=200)
    assert journal["entries"][-1]["status"] == 302


def test_what_the_standard_library_writes_for_orjson_is_read_back() -> None:
    """A lone surrogate, escaped by the fallback writer, as an older moisim stored it."""
    text = jsontext.dumps({"error": "redirected to /to\udcff"})
    assert jsontext.loads(text) == {"error": "redirected to /to\udcff"}
    with pytest.raises(jsontext.JSONDecodeError):
        jsontext.loads('{"error": "open')


async def test_one_orders_callbacks_stay_in_order_while_one_is_retried(sim: Sim, marketplace: MarketplaceStub) -> None:
    await sim.handling(endpoint=endpoint(marketplace))
    marketplace.script("invoice", 500)
    await invoice(sim, seeds.invoice_body("nf-1", 12))
    await invoice(sim, seeds.invoice_body("nf-2", 120))
    await marketplace.wait_for(1)
    await sim.dispatcher.drain()
    assert [c.body["invoiceNumber"] for c in marketplace.calls] == ["nf-1"]  # nf-2 waits behind nf-1
    await sim.advance(1)
    await sim.dispatcher.drain()
    assert [c.body["invoiceNumber"] for c in marketplace.calls] == ["nf-1", "nf-1", "nf-2"]


async def test_other_orders_are_not_held_up(sim: Sim, marketplace: MarketplaceStub) -> None:
    await sim.handling("g-1", endpoint(marketplace))
    await sim.handling("g-2", endpoint(marketplace))
    marketplace.script("invoice", 500)
    await invoice(sim, seeds.invoice_body(), order="MKP-g-1-01")
    await marketplace.wait_for(1)
    await invoice(sim, seeds.invoice_body(), order="MKP-g-2-01")
    await marketplace.wait_for(2)
    assert [c.path.split("/")[-2] for c in marketplace.calls] == ["g-1", "g-2"]


async def test_the_stub_records_a_body_nested_too_deep_as_its_text(marketplace: MarketplaceStub) -> None:
    """The stub parsed with json.loads, which ran out of stack at 2,000 levels: a 500, and no call recorded."""
    text = '{"x":' + "[" * 2000 + "]" * 2000 + "}"
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{marketplace.url}/pvt/orders/g/invoice", data=text) as resp:
            assert resp.status == 200
    [call] = marketplace.calls
    assert call.body == text


async def invoice_answered_with(sim: Sim, marketplace: MarketplaceStub, body: Any) -> Delivery:
    """The invoice callback's delivery, once the marketplace has answered it 200 with ``body``."""
    await sim.handling(endpoint=endpoint(marketplace))
    marketplace.script("invoice", Reply(200, body=body))
    await invoice(sim, seeds.invoice_body())
    await marketplace.wait_for(1)
    await sim.dispatcher.drain()
    [delivery] = sim.store.deliveries("moisim", ORDER)
    return delivery


async def test_a_malformed_2xx_reply_is_acceptance_recorded_as_a_conformance_failure(
        sim: Sim, marketplace: MarketplaceStub) -> None:
    delivery = await invoice_answered_with(sim, marketplace, {"orderId": 5})
    assert delivery.state == "delivered"
    assert delivery.outcome["replyConforms"] is False
    paths = {e["path"] for e in delivery.outcome["schemaErrors"]}
    assert {"date", "receipt", "orderId"} <= paths


async def test_a_reply_that_is_not_json(sim: Sim, marketplace: MarketplaceStub) -> None:
    delivery = await invoice_answered_with(sim, marketplace, "<html>ok</html>")
    assert delivery.state == "delivered" and delivery.outcome["replyConforms"] is False
    assert "not JSON" in delivery.outcome["schemaErrors"][0]["message"]


async def test_a_reply_that_starts_with_a_byte_order_mark_is_read(sim: Sim, marketplace: MarketplaceStub) -> None:
    """A request body may start with one (.NET reads it so); a reply that did was recorded as not
    JSON, a false conformance failure."""
    delivery = await invoice_answered_with(sim, marketplace,
                                           '\ufeff{"date":"2026-11-23T10:00:00Z","orderId":"g","receipt":"r"}')
    assert (delivery.state, delivery.outcome["replyConforms"], delivery.outcome["schemaErrors"]) == ("delivered", True, [])
    assert delivery.outcome["reply"].startswith("\ufeff")  # recorded as it came


@pytest.mark.parametrize("levels", [65, 1000])
async def test_a_reply_nested_deeper_than_64_levels_is_recorded_as_not_conforming(
        sim: Sim, marketplace: MarketplaceStub, levels: int) -> None:
    """At 1,000 levels jsonschema's message ran out of stack and the delivery was never judged."""
    nested = "[" * (levels - 1) + "]" * (levels - 1)
    delivery = await invoice_answered_with(sim, marketplace,
                                           '{"date":"2026-11-23T10:00:00Z","orderId":' + nested + ',"receipt":"r"}')
    assert delivery.state == "delivered" and delivery.outcome["replyConforms"] is False
    [error] = delivery.outcome["schemaErrors"]
    assert error["path"] == "orderId" + "[0]" * 63
    assert error["message"] == "arrays and objects nested more than 64 levels deep"
    _, journal = await sim.call("GET", "/_sim/journal?direction=out", role="admin", expect=200)  # still readable
    assert journal["entries"][-1]["reply"] == delivery.outcome["reply"]  # as text


async def test_a_reply_is_read_whole_whatever_pieces_it_arrives_in() -> None:
    """One read returns only what has arrived: a reply in two pieces was judged on its first,
    '{"date": "', and recorded as not JSON (a false conformance failure, seen against a
    marketplace that answered in two chunks)."""
    from unittest.mock import Mock

    from aiohttp import StreamReader
    from aiohttp.base_protocol import BaseProtocol

    loop = asyncio.get_running_loop()

    def connected_reader() -> StreamReader:
        protocol = BaseProtocol(loop)
        protocol.connection_made(Mock(asyncio.Transport))  # a reader waits for data only while connected
        return StreamReader(protocol, 2**16, loop=loop)

    reader = connected_reader()
    reader.feed_data(b'{"date": "')

    def the_rest() -> None:
        reader.feed_data(b'2026-11-23T10:00:00Z", "orderId": "x", "receipt": "r"}')
        reader.feed_eof()

    loop.call_soon(the_rest)  # after the first read has taken what there was
    assert await read_reply(reader) == (b'{"date": "2026-11-23T10:00:00Z", "orderId": "x", "receipt": "r"}', False)

    reader = connected_reader()
    reader.feed_data(b"x" * 10)
    reader.feed_eof()
    assert await read_reply(reader, limit=4) == (b"xxxx", True)


async def test_a_reply_past_the_limit_is_named_not_parsed(sim: Sim, marketplace: MarketplaceStub) -> None:
    await sim.handling(endpoint=endpoint(marketplace))
    marketplace.script("invoice", Reply(200, body='{"pad": "' + "x" * MAX_REPLY_BYTES + '"}'))
    await invoice(sim, seeds.invoice_body())
    await marketplace.wait_for(1)
    await sim.dispatcher.drain()
    [delivery] = sim.store.deliveries("moisim", ORDER)
    assert delivery.state == "delivered" and delivery.outcome["replyConforms"] is False
    assert delivery.outcome["schemaErrors"][0]["message"] == (
        f"reply is longer than {MAX_REPLY_BYTES} bytes, more than moisim reads")


TLS = Path(__file__).parent / "tls"  # a self-signed certificate for 127.0.0.1 (see its README)


@pytest.fixture
async def https_marketplace() -> AsyncIterator[MarketplaceStub]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(TLS / "cert.pem", TLS / "key.pem")
    stub = MarketplaceStub()
    await stub.start(tls=context)
    yield stub
    await stub.stop()


@pytest.mark.parametrize("settings,delivered", [
    ({}, False),  # the system's authorities do not know a self-signed certificate
    ({"ca-file": str(TLS / "cert.pem")}, True),
    ({"verify-tls": False}, True),
])
async def test_an_https_marketplace_with_its_own_certificate(
        make_sim, https_marketplace: MarketplaceStub, settings: dict, delivered: bool) -> None:
    sim = await make_sim(callbacks={"attempts": 1, **settings})
    await sim.handling(endpoint=endpoint(https_marketplace))
    await invoice(sim, seeds.invoice_body())
    await sim.dispatcher.drain()
    [delivery] = sim.store.deliveries("moisim", ORDER)
    if delivered:
        assert delivery.state == "delivered" and delivery.outcome["replyConforms"] is True
        assert [c.kind for c in https_marketplace.calls] == ["invoice"]
    else:
        assert delivery.state == "failed" and "CERTIFICATE_VERIFY_FAILED" in delivery.outcome["error"]
        assert https_marketplace.calls == []


async def test_seller_cancellation_callback(sim: Sim, marketplace: MarketplaceStub) -> None:
    await sim.handling(endpoint=endpoint(marketplace))
    await sim.call("POST", f"/api/oms/pvt/orders/{ORDER}/cancel", role="seller", json={}, expect=200)
    [call] = await marketplace.wait_for(1)
    assert call.path == f"/api/orders/pvt/orders/order-group/{GROUP}/notifications/seller-cancellation"
    assert call.query == {"parameter": "value"}
    assert call.body == {"id": "sellerOrderCancelled", "sellerOrderId": ORDER}
    await sim.dispatcher.drain()
    assert sim.store.deliveries("moisim", ORDER)[0].outcome["replyConforms"] is None  # any 2xx will do


async def test_an_unreachable_endpoint_is_retried_not_crashed(make_sim) -> None:
    sim = await make_sim(callbacks={"attempts": 2})
    await sim.handling(endpoint="http://127.0.0.1:9/unreachable")
    await invoice(sim, seeds.invoice_body())
    await sim.dispatcher.drain()
    await sim.advance(1)
    await sim.dispatcher.drain()
    [delivery] = sim.store.deliveries("moisim", ORDER)
    assert delivery.state == "failed" and delivery.attempts == 2
    assert "connection error" in delivery.outcome["error"]


async def test_an_unresolvable_host_is_retried(make_sim) -> None:
    sim = await make_sim(callbacks={"attempts": 2})
    await sim.handling()  # the seed's endpoint: service.externalmarketplace.com
    await invoice(sim, seeds.invoice_body())
    await sim.dispatcher.drain()
    [delivery] = sim.store.deliveries("moisim", ORDER)
    assert delivery.state == "pending" and delivery.attempts == 1
    assert "service.externalmarketplace.com" in delivery.outcome["error"]


async def test_a_dns_lookup_that_never_answers_times_out_and_does_not_hold_up_shutdown(
        make_sim, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a closed network a lookup can block for good; the attempt times out, and stopping the
    app (this test's teardown) does not wait for the stuck lookup thread."""
    stuck = threading.Event()
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: stuck.wait() and [])
    sim = await make_sim(callbacks={"timeout": "100ms", "attempts": 1})
    await sim.handling()
    await invoice(sim, seeds.invoice_body())
    await sim.dispatcher.drain()
    [delivery] = sim.store.deliveries("moisim", ORDER)
    assert delivery.state == "failed" and delivery.outcome["error"].startswith("timeout")
    lookups = [t for t in threading.enumerate() if t.name.startswith("moisim-resolve-")]
    assert lookups and all(t.daemon and t.is_alive() for t in lookups)  # nobody will join them
    await asyncio.wait_for(sim.client.close(), 10)  # stopping the dispatcher does not wait either
    stuck.set()


async def test_order_view_shows_callbacks_and_journal_filters(sim: Sim, marketplace: MarketplaceStub) -> None:
    await sim.handling(endpoint=endpoint(marketplace))
    await invoice(sim, seeds.invoice_body())
    await marketplace.wait_for(1)
    await sim.dispatcher.drain()
    _, view = await sim.call("GET", f"/_sim/orders/{ORDER}", role="admin", expect=200)
    assert view["chainOrder"]["status"] == "invoiced"
    assert [f["orderId"] for f in view["franchiseOrders"]] == ["FRC-" + ORDER]
    assert view["callbacks"][0]["state"] == "delivered"
    assert view["callbacks"][0]["lastAttempt"]["status"] == 200
    _, inbound = await sim.call("GET", f"/_sim/journal?direction=in&kind=invoice&orderId={ORDER}", role="admin")
    assert [e["path"] for e in inbound["entries"]] == [f"/api/oms/pvt/orders/{ORDER}/invoice"]
    assert inbound["entries"][0]["status"] == 200
    _, bad = await sim.call("GET", "/_sim/journal?direction=sideways", role="admin")
    assert bad["error"]["code"] == "SIM008"
    _, later = await sim.call("GET", "/_sim/journal?since=2999-01-01T00:00:00Z", role="admin")
    assert later["entries"] == []


@pytest.mark.parametrize("query,expected,reads", [
    ("limit=7", list(range(7)), 3),  # pages of 3, 3 and 1: it ends inside a page
    ("limit=9", list(range(9)), 3),  # it ends on a page's last entry, and reads no further
    ("", list(range(10)), 4),  # all of them: the last page is short
    ("direction=in&limit=4", [0, 2, 4, 6], 2),  # a filter across pages: 3, then the 1 left
])
async def test_the_journal_is_sent_a_page_at_a_time_and_is_whole(sim: Sim, monkeypatch: pytest.MonkeyPatch,
                                                                  query: str, expected: list[int], reads: int) -> None:
    """10,000 entries of placements built as one reply held the loop 4 s and took 600 MiB; it is
    read, rendered and sent a page at a time now. What arrives is the same JSON as before."""
    monkeypatch.setattr("simulator.http.control.JOURNAL_PAGE", 3)
    for n in range(10):
        sim.store.journal_add("moisim", f"2026-11-24T00:00:{n:02}Z", "in" if n % 2 == 0 else "out", "x", None, {"n": n})
    turns, pages = LoopTurns(), []
    read = sim.store.journal

    def recorded(*args: Any, **kwargs: Any) -> Any:
        pages.append(turns.count)
        return read(*args, **kwargs)

    monkeypatch.setattr(sim.store, "journal", recorded)
    status, body = await turns.during(sim.call("GET", f"/_sim/journal?kind=x&{query}", role="admin"))
    assert status == 200
    assert [e["n"] for e in body["entries"]] == expected
    assert [e["id"] for e in body["entries"]] == sorted(e["id"] for e in body["entries"])
    assert len(pages) == reads
    assert pages == sorted(set(pages))  # other work had a turn between two pages


async def test_the_journal_is_read_on_from_the_last_id_seen(sim: Sim, monkeypatch: pytest.MonkeyPatch) -> None:
    """Oldest first and at most 10,000 at once: without ``after`` a reader could never get past
    the first 10,000 entries its filter matches."""
    monkeypatch.setattr("simulator.http.control.JOURNAL_PAGE", 3)
    for n in range(10):
        sim.store.journal_add("moisim", "2026-11-24T00:00:00Z", "in" if n % 2 == 0 else "out", "x", None, {"n": n})
    reads: list[list[int]] = []
    after = 0
    for _ in range(4):
        _, body = await sim.call("GET", f"/_sim/journal?kind=x&direction=in&limit=2&after={after}", role="admin",
                                 expect=200)
        reads.append([e["n"] for e in body["entries"]])
        after = body["entries"][-1]["id"] if body["entries"] else after
    assert reads == [[0, 2], [4, 6], [8], []]


@pytest.mark.parametrize(("path", "says"), [
    ("/_sim/journal?orderid=MKP-x-01", "Invalid query parameter orderid: GET /_sim/journal reads orderId, direction, "
                                       "kind, since, after, limit"),
    ("/_sim/journal?after=-1", "Invalid query parameter after='-1': it must be between 0 and 9223372036854775807"),
    ("/_sim/journal?after=x", "Invalid query parameter after='x': an integer is expected"),
    ("/_sim/journal?limit=0", "Invalid query parameter limit='0': it must be between 1 and 10000"),
    ("/_sim/stock?sku=8", "Invalid query parameter sku: GET /_sim/stock reads no parameters"),
    ("/_sim/journal?kind=invoice&kind=change", "Invalid query parameter kind: it is given 2 times, as 'invoice', 'change'; give it once"),
])
async def test_a_control_query_the_route_does_not_read_is_refused_by_name(sim: Sim, path: str, says: str) -> None:
    """A misspelt filter was ignored: ``orderid=`` answered with every order's entries."""
    status, body = await sim.call("GET", path, role="admin")
    assert (status, body["error"]["code"]) == (400, "SIM008")
    assert body["error"]["message"].startswith(says)


@pytest.mark.parametrize("what,said", [
    ("the store fails", ("ERROR", "could not read the journal after 2 entries; reply cut short")),
    ("the client hangs up", ("INFO", "the journal's reader hung up after 2 entries")),  # not an error of ours
])
async def test_a_journal_read_that_ends_half_way_is_cut_short_not_sent_as_whole(
        sim: Sim, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, what: str,
        said: tuple[str, str]) -> None:
    monkeypatch.setattr("simulator.http.control.JOURNAL_PAGE", 2)
    for n in range(6):
        sim.store.journal_add("moisim", "2026-11-24T00:00:00Z", "in", "x", None, {"n": n})
    read = sim.store.journal

    def ends_on_the_second_page(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("after"):
            if what == "the store fails":
                raise sqlite3.OperationalError("disk I/O error")
            for connection in sim.client.server.runner.server.connections:  # as if the client had gone
                connection.transport.abort()
        return read(*args, **kwargs)

    monkeypatch.setattr(sim.store, "journal", ends_on_the_second_page)
    caplog.set_level(logging.INFO, logger="moisim.http")
    with pytest.raises((aiohttp.ClientPayloadError, aiohttp.ServerDisconnectedError)):
        await sim.call("GET", "/_sim/journal?kind=x", role="admin")
    assert [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "moisim.http"] == [said]
    monkeypatch.setattr(sim.store, "journal", read)
    _, whole = await sim.call("GET", "/_sim/journal?kind=x", role="admin", expect=200)  # the server goes on
    assert [e["n"] for e in whole["entries"]] == list(range(6))


async def test_the_journal_is_bounded() -> None:
    from simulator.store import SqliteStore

    store = SqliteStore(journal_cap=50)
    for n in range(500):
        store.journal_add("moisim", f"t{n:04}", "in", "x", None, {"n": n})
    entries = store.journal("moisim", limit=1000)
    assert len(entries) == 50
    assert [e.data["n"] for e in entries] == list(range(450, 500))
    rows = store._db.execute("SELECT COUNT(*) FROM journal").fetchone()[0]
    assert rows <= 50 + 50 // 100 + 1


async def test_a_drain_that_gives_up_is_reported_not_a_500(sim: Sim, monkeypatch: pytest.MonkeyPatch) -> None:
    """Dispatcher.settle bounds every wait for callbacks (the drain route, advance, playback checks)."""
    async def never(timeout: float) -> None:
        raise TimeoutError

    monkeypatch.setattr(sim.dispatcher, "drain", never)
    _, body = await sim.call("POST", "/_sim/outbox/drain", role="admin", expect=200)
    assert body == {"settled": False}
    await sim.advance(60)  # advance settles between steps; a give-up does not fail it


@pytest.mark.parametrize("older_store", [False, True])
async def test_an_attempt_cut_short_by_a_stop_is_journaled_as_interrupted(make_sim, marketplace: MarketplaceStub,
                                                                          tmp_path, older_store: bool) -> None:
    """Journaled at the time it went out; in a store from before that time was kept (no
    ``in_flight_at`` column) its ``at`` is unknown: null."""
    import sqlite3

    path = tmp_path / "stop.db"
    config = sim_config(store={"path": str(path)}, callbacks={"timeout": "30s"})
    first = await make_sim(config)
    await first.handling(endpoint=endpoint(marketplace))
    marketplace.script("invoice", Reply.timeout(2.0))  # longer than it takes to stop the server
    await invoice(first, seeds.invoice_body())
    await marketplace.wait_for(1, "invoice", answered=False)
    went_out = first.service.now()
    await first.client.close()  # the server stops with the attempt still waiting for its reply
    first.store.close()
    restarted = went_out + timedelta(hours=1)  # the virtual clock resumes an hour later
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("UPDATE meta SET value=? WHERE key=?", (iso(restarted), VIRTUAL_NOW))
    if older_store:
        db.execute("ALTER TABLE outbox DROP COLUMN in_flight_at")
    db.close()

    second = await make_sim(config)
    await marketplace.wait_for(2, "invoice", answered=False)  # the next attempt goes out on start
    await second.dispatcher.drain()
    _, journal = await second.call("GET", f"/_sim/journal?orderId={ORDER}&direction=out", role="admin", expect=200)
    assert [(e["attempt"], e["outcome"]) for e in journal["entries"]] == [(1, "interrupted"), (2, "accepted")]
    assert [e["at"] for e in journal["entries"]] == [None if older_store else iso(went_out), iso(restarted)]
    assert [c.headers["X-Moisim-Attempt"] for c in marketplace.calls_of("invoice")] == ["1", "2"]
    [delivery] = second.store.deliveries("moisim", ORDER)
    assert (delivery.state, delivery.attempts, delivery.in_flight, delivery.in_flight_at) == ("delivered", 2, None, None)


async def test_a_stop_in_the_same_turn_as_a_wake_still_stops_the_dispatcher(make_sim) -> None:
    """Python 3.11's ``asyncio.wait_for`` swallows a cancellation that lands in the same turn as
    the thing it awaits finishing (CPython gh-86296): a stop right after a wake (a delivery ending,
    a request queuing a callback) left the dispatcher's loop running, and the server's shutdown
    waiting for it for ever."""
    sim = await make_sim(sim_config(clock="real"))  # the loop waits with a timeout on a real clock
    await sim.call("GET", "/_sim/health", role=None, expect=200)  # by now the loop waits for a wake
    sim.dispatcher.wake()
    async with asyncio.timeout(5):
        await sim.dispatcher.stop()


async def test_an_attempts_verdict_joins_the_batch_its_journal_entry_commits_in(
        sim: Sim, marketplace: MarketplaceStub, monkeypatch) -> None:
    """Without a transaction of its own, the verdict's UPDATE must still not commit apart from the
    journal row: a crash between the two would leave an attempt out of the journal."""
    in_transaction = []
    original = sim.store.settle_attempt

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        original(*args, **kwargs)
        in_transaction.append(sim.store._db.in_transaction)

    monkeypatch.setattr(sim.store, "settle_attempt", spy)
    await sim.handling(endpoint=endpoint(marketplace))
    await invoice(sim, seeds.invoice_body())
    await marketplace.wait_for(1, "invoice")
    await sim.dispatcher.drain()
    assert in_transaction == [True]


async def test_an_attempt_whose_in_flight_mark_cannot_be_stored_is_not_sent(sim: Sim, marketplace: MarketplaceStub,
                                                                          monkeypatch, caplog) -> None:
    class FailingOnce:  # the dispatcher's view of the store: the first commit it waits for fails
        def __init__(self, store) -> None:  # type: ignore[no-untyped-def]
            self._store, self.failed = store, False

        def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
            return getattr(self._store, name)

        async def durable(self) -> None:
            if not self.failed:
                self.failed = True
                raise OSError("disk full")
            await self._store.durable()

    await sim.handling(endpoint=endpoint(marketplace))
    monkeypatch.setattr(sim.dispatcher, "store", FailingOnce(sim.store))
    await invoice(sim, seeds.invoice_body())
    await marketplace.wait_for(1, "invoice")
    await sim.dispatcher.drain()
    assert sim.dispatcher.store.failed
    assert any("in flight; not sent" in r.getMessage() for r in caplog.records)  # said, not a lost task error
    assert [c.headers["X-Moisim-Attempt"] for c in marketplace.calls_of("invoice")] == ["1"]  # sent once, as 1
    _, journal = await sim.call("GET", f"/_sim/journal?orderId={ORDER}&direction=out", role="admin", expect=200)
    assert [(e["attempt"], e["outcome"]) for e in journal["entries"]] == [(1, "accepted")]
