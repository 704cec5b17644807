"""Reading orders: one order, the list with paging and filters, an order group."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from simulator.domain.render import ADDRESS_FIELDS
from simulator.schemas import default_registry
from tests import seeds
from tests.conftest import Sim, SimFactory


@pytest.fixture(params=["memory", "file"])
async def sim(request: pytest.FixtureRequest, make_sim: SimFactory, tmp_path: Path) -> Sim:
    """Every read here, on both stores: in memory a list reads on the loop's connection, on a file
    on the reader's (store/reader.py)."""
    if request.param == "memory":
        return await make_sim()
    return await make_sim(store={"path": str(tmp_path / "moisim.db")})


async def test_order_has_vtex_shape(sim: Sim) -> None:
    await sim.place()
    order = await sim.order(seeds.SEED_ORDER_ID)
    assert default_registry().findings("order", order) == []
    for field in ("packageAttachment", "changesAttachment", "cancellationData", "creationDate", "lastChange",
                  "authorizedDate", "invoicedDate", "sellers", "shippingData", "totals", "value"):
        assert field in order
    assert order["totals"][0] == {"id": "Items", "name": "Total dos Itens", "value": 132, "alternativeTotals": []}
    assert order["shippingData"]["logisticsInfo"][0]["selectedDeliveryChannel"] == "pickup-in-point"
    assert order["shippingData"]["logisticsInfo"][0]["pickupPointId"] == "14b25e5"
    # An item's shipping price is null, as in VTEX's example; it is the logistics entry's price.
    assert [i["shippingPrice"] for i in order["items"]] == [None, None]
    assert [li["price"] for li in order["shippingData"]["logisticsInfo"]] == [0, 0]
    # The seed selects its address by id and sends no "address": the selected one stands in,
    # with VTEX's other address fields present and empty, in the order the Orders API shows them.
    address = order["shippingData"]["address"]
    assert list(address) == list(ADDRESS_FIELDS)
    assert address["addressId"] == "-4581767308704" and address["geoCoordinates"] == []
    assert {k: v for k, v in address.items() if k not in ("addressId", "geoCoordinates")} == dict.fromkeys(
        set(ADDRESS_FIELDS) - {"addressId", "geoCoordinates"})
    assert order["shippingData"]["selectedAddresses"] == [address]
    assert order["sequence"] == "500001"  # VTEX's six digits; the account's first order
    # Not in the placement body; VTEX's order always has them: the store's locale, no opt-in.
    assert order["clientPreferencesData"] == {"locale": "pt-BR", "optinNewsLetter": False}
    assert order["storePreferencesData"]["currencyLocale"] == 1046  # pt-BR's LCID


async def test_an_order_is_found_by_its_sequence_number(sim: Sim) -> None:
    """VTEX's Get order takes seq{sequence} in place of the order id, for chain and franchise orders."""
    await sim.place("seq-1")
    await sim.place("seq-2")
    for order_id in ("MKP-seq-1-01", "MKP-seq-2-01", "FRC-MKP-seq-2-01"):
        order = await sim.order(order_id)
        assert await sim.order(f"seq{order['sequence']}") == order
        assert await sim.order(f"seq{int(order['sequence']):08d}") == order  # leading zeros: the same number
        _, journal = await sim.call("GET", f"/_sim/journal?orderId={order_id}&kind=get-order", role="admin")
        assert [e["path"] for e in journal["entries"]] == [  # journaled under the order's id, however named
            f"/api/oms/pvt/orders/{order_id}", f"/api/oms/pvt/orders/seq{order['sequence']}",
            f"/api/oms/pvt/orders/seq{int(order['sequence']):08d}"]
        _, by_id = await sim.call("GET", f"/_sim/orders/{order_id}", role="admin", expect=200)
        _, by_sequence = await sim.call("GET", f"/_sim/orders/seq{order['sequence']}", role="admin", expect=200)
        assert by_sequence == by_id and by_id["chainOrder"]["orderId"] == order_id.removeprefix("FRC-")
    sequences = {int((await sim.order(o))["sequence"]) for o in ("MKP-seq-1-01", "MKP-seq-2-01")}
    unused = max(sequences) + 100
    for reference in (f"seq{unused}", "seq" + "9" * 18, "seq" + "9" * 40, "seq", "seq-1", "seq1x", "SEQ1"):
        status, body = await sim.call("GET", f"/api/oms/pvt/orders/{reference}")
        assert (status, body["error"]["code"]) == (404, "CHK0201"), reference
        assert body["error"]["message"] == f"Order not found: {reference}"
        status, body = await sim.call("GET", f"/_sim/orders/{reference}", role="admin")
        assert (status, body["error"]["code"]) == (404, "CHK0201"), reference


async def test_list_pages_and_filters_by_status(sim: Sim) -> None:
    for n in range(5):
        await sim.place(f"list-{n}")
    await sim.authorize("MKP-list-1-01", "list-1")
    await sim.authorize("MKP-list-3-01", "list-3")
    status, body = await sim.call("GET", "/api/oms/pvt/orders?per_page=2&page=1")
    assert status == 200
    assert default_registry().findings("order-list", body) == []
    assert body["paging"] == {"total": 5, "pages": 3, "currentPage": 1, "perPage": 2}
    assert len(body["list"]) == 2
    _, body = await sim.call("GET", "/api/oms/pvt/orders?per_page=2&page=3")
    assert len(body["list"]) == 1
    _, body = await sim.call("GET", "/api/oms/pvt/orders?f_status=payment-approved&orderBy=orderId,asc")
    assert [o["orderId"] for o in body["list"]] == ["MKP-list-1-01", "MKP-list-3-01"]
    assert all(o["items"] is None for o in body["list"])
    assert all(o["hostname"] == "moisim" for o in body["list"])  # the account, as on the order itself
    _, body = await sim.call("GET", "/api/oms/pvt/orders?f_status=payment-approved,waiting-for-mkt-authorization")
    assert body["paging"]["total"] == 5


async def test_list_filters_by_creation_date(sim: Sim) -> None:
    await sim.place("early")
    await sim.advance(3600)
    await sim.place("late")
    _, clock = await sim.call("GET", "/_sim/clock", role="admin")
    from simulator.clock import iso, parse_iso
    from datetime import timedelta

    since = iso(parse_iso(clock["now"]) - timedelta(minutes=1))
    until = iso(parse_iso(clock["now"]) + timedelta(minutes=1))
    _, body = await sim.call("GET", f"/api/oms/pvt/orders?f_creationDate=creationDate:[{since} TO {until}]")
    assert [o["orderId"] for o in body["list"]] == ["MKP-late-01"]


async def listed(sim: Sim, query: str) -> list[str]:
    """The chain order ids a list query selects (all of them: one page of 100), oldest first."""
    _, body = await sim.call("GET", f"/api/oms/pvt/orders?per_page=100&orderBy=orderId,asc&{query}", expect=200)
    assert body["paging"]["total"] == len(body["list"]) == body["stats"]["stats"]["totalValue"]["Count"]
    return [o["orderId"] for o in body["list"]]


async def test_q_finds_orders_by_id_group_email_document_and_name(sim: Sim) -> None:
    await sim.place("taylor", clientProfileData={"email": "Taylor@Example.com", "firstName": "Taylor",
                                                 "lastName": "Swift", "document": "21133355524"})
    await sim.place("other", clientProfileData={"email": "other@example.com", "firstName": "Ann", "lastName": "Lee"})
    for q in ("MKP-taylor-01", "MKP-taylor", "taylor@example.COM", "21133355524", "taylor", "SWIFT",
              "Taylor%20Swift"):
        assert await listed(sim, f"q={q}") == ["MKP-taylor-01"], q
    assert await listed(sim, "q=nobody") == []
    assert await listed(sim, "q=") == ["MKP-other-01", "MKP-taylor-01"]  # an empty search is no search
    assert await listed(sim, "q=ann&f_status=canceled") == []  # with the other filters, not instead of them
    # Any case beyond ASCII too (SQLite's own lower() leaves É as it is).
    await sim.place("jose", clientProfileData={"email": "jose@example.com", "firstName": "José", "lastName": "Ávila"})
    for q in ("JOSÉ", "josé", "ávila", "JOSÉ%20ÁVILA"):
        assert await listed(sim, f"q={q}") == ["MKP-jose-01"], q


async def test_list_sorts_by_every_order_field_vtex_documents(sim: Sim) -> None:
    def lines(quantity: int) -> list[dict]:
        return [{"id": "8", "quantity": quantity, "seller": "1", "price": 12},
                {"id": "36", "quantity": 1, "seller": "1", "price": 120}]

    for group, quantity in (("b", 5), ("a", 1), ("c", 3)):
        await sim.place(group, items=lines(quantity))
        await sim.advance(60)  # creation dates apart
    by = {}
    for field in ("creationDate", "orderId", "items", "totalValue", "origin", "status"):
        for direction in ("asc", "desc"):
            _, body = await sim.call("GET", f"/api/oms/pvt/orders?orderBy={field},{direction}", expect=200)
            by[field, direction] = [o["orderId"].split("-")[1] for o in body["list"]]
    assert by["creationDate", "asc"] == ["b", "a", "c"]
    assert by["orderId", "asc"] == ["a", "b", "c"]
    assert by["items", "desc"] == ["b", "c", "a"]  # 6, 4 and 2 units
    assert by["totalValue", "asc"] == ["a", "c", "b"]  # 132, 156, 180
    assert by["origin", "asc"] == ["a", "b", "c"]  # all Chain: the order id decides
    for field in ("creationDate", "orderId", "items", "totalValue", "origin", "status"):
        assert by[field, "desc"] == by[field, "asc"][::-1], field


async def test_marketing_data_is_kept_and_filters_by_utm_source(sim: Sim) -> None:
    marketing = {"utmSource": "christmas", "utmMedium": "email", "utmCampaign": "xmas26", "coupon": "HOHO",
                 "marketingTags": ["gift"]}
    await sim.place("campaign", marketingData=marketing)
    await sim.place("plain")
    assert (await sim.order("MKP-campaign-01"))["marketingData"] == {"id": "marketingData", **marketing}
    assert (await sim.order("MKP-plain-01"))["marketingData"] is None
    assert await listed(sim, "f_UtmSource=christmas") == ["MKP-campaign-01"]
    assert await listed(sim, "f_UtmSource=easter,christmas") == ["MKP-campaign-01"]
    assert await listed(sim, "f_UtmSource=easter") == []
    # The column is the list's filter, and only chain orders are listed: a franchise order's row has
    # none, placed or saved again.
    await sim.authorize("MKP-campaign-01", "campaign")
    rows = dict(sim.store._db.execute("SELECT order_id, utm_source FROM orders WHERE order_id LIKE '%campaign%'"))
    assert rows == {"MKP-campaign-01": "christmas", "FRC-MKP-campaign-01": None}
    status, body = await sim.call("PUT", "/api/checkout/pvt/orders?sc=1&affiliateId=MKP",
                                  json=seeds.place_body("bad", marketingData={"utmSource": 7}))
    assert status == 400 and "marketingData.utmSource" in body["error"]["message"], body


async def test_the_open_text_field_is_kept(sim: Sim) -> None:
    await sim.place("noted", openTextField={"value": "leave it with the porter"})
    await sim.place("plain")
    assert (await sim.order("MKP-noted-01"))["openTextField"] == {"value": "leave it with the porter"}
    assert (await sim.order("MKP-plain-01"))["openTextField"] is None
    status, body = await sim.call("PUT", "/api/checkout/pvt/orders?sc=1&affiliateId=MKP",
                                  json=seeds.place_body("bad", openTextField="porter"))
    assert status == 400 and "openTextField" in body["error"]["message"], body


async def test_list_filters_by_authorized_and_invoiced_dates(sim: Sim) -> None:
    from datetime import timedelta

    from simulator.clock import iso, parse_iso

    async def now() -> str:
        return (await sim.call("GET", "/_sim/clock", role="admin", expect=200))[1]["now"]

    def around(moment: str) -> str:
        at = parse_iso(moment)
        return f"[{iso(at - timedelta(seconds=1))} TO {iso(at + timedelta(seconds=1))}]"

    await sim.place("early")
    await sim.authorize("MKP-early-01", "early")
    first = await now()
    await sim.advance(3600)
    await sim.handling("late")  # placed, authorized, 30 minutes, handling
    authorized_late = iso(parse_iso(await now()) - timedelta(minutes=30)) or ""
    await sim.call("POST", "/api/oms/pvt/orders/MKP-late-01/invoice", role="seller", json=seeds.invoice_body(),
                   expect=200)
    invoiced = await now()
    assert await listed(sim, f"f_authorizedDate=authorizedDate:{around(first)}") == ["MKP-early-01"]
    assert await listed(sim, f"f_authorizedDate=authorizedDate:{around(authorized_late)}") == ["MKP-late-01"]
    # VTEX's own example for this filter is written creationDate:[...]; it is read the same way.
    assert await listed(sim, f"f_authorizedDate=creationDate:{around(first)}") == ["MKP-early-01"]
    assert await listed(sim, f"f_invoicedDate=invoicedDate:{around(invoiced)}") == ["MKP-late-01"]
    assert await listed(sim, f"f_invoicedDate=invoicedDate:{around(first)}") == []
    assert await listed(sim, "f_hasInputInvoice=true") == []
    await sim.call("POST", "/api/oms/pvt/orders/MKP-late-01/invoice", role="seller",
                   json=seeds.invoice_body("ret-1", 12, kind="Input"), expect=200)
    assert await listed(sim, "f_hasInputInvoice=true") == ["MKP-late-01"]
    assert await listed(sim, "f_hasInputInvoice=false") == ["MKP-early-01", "MKP-late-01"]


async def test_list_filters_by_sales_channel_affiliate_and_what_chain_orders_never_carry(make_sim: SimFactory) -> None:
    sim = await make_sim(affiliates=[{"id": "MKP", "sales-channel": "1"}, {"id": "SHP", "sales-channel": "2"}])
    await sim.place("one")
    await sim.call("PUT", "/api/checkout/pvt/orders?sc=2&affiliateId=SHP", json=seeds.place_body("two"), expect=200)
    both = ["MKP-one-01", "SHP-two-01"]
    assert await listed(sim, "") == both
    assert await listed(sim, "salesChannelId=2") == ["SHP-two-01"]
    assert await listed(sim, "f_salesChannel=1,2") == both
    assert await listed(sim, "f_salesChannel=9") == []
    assert await listed(sim, "f_affiliateId=SHP,MKP") == both
    assert await listed(sim, "f_affiliateId=MKP&salesChannelId=2") == []
    assert await listed(sim, "f_affiliateId=,") == both  # an empty list filters nothing, as f_status's does
    # The marketplace pays, on its side: a chain order has no payment names, promotions or
    # call-center operator, nor is it inStore or incomplete. Such a filter selects none (and
    # these orders were placed without marketingData, so they have no UTM source either).
    for query in ("f_paymentNames=Visa", "f_UtmSource=christmas", "f_RnB=Free%20Shipping",
                  "f_callCenterOperatorName=Ann", "f_isInstore=true", "incompleteOrders=true", "f_sellerNames=Other"):
        assert await listed(sim, query) == [], query
    for query in ("f_isInstore=false", "incompleteOrders=false", "f_sellerNames=moisim", "f_paymentNames="):
        assert await listed(sim, query) == both, query


@pytest.mark.parametrize("query,name", [
    ("page=0", "page"), ("page=31", "page"), ("per_page=101", "per_page"), ("per_page=abc", "per_page"),
    ("orderBy=value,desc", "creationDate|orderId|items|totalValue|origin|status"),
    ("orderBy=totalValue,sideways", "orderBy"), ("f_creationDate=yesterday", "f_creationDate"),
    ("f_creationDate=creationDate:[x TO y]", "f_creationDate"),
    ("f_creationDate=creationDate:[0001-01-01T00:00:00%2B05:00 TO 2026-01-01T00:00:00Z]", "years 1 and 9999 in UTC"),
    ("f_invoicedDate=yesterday", "f_invoicedDate: use invoicedDate:[FROM TO TO]"),
    ("f_authorizedDate=authorizedDate:[2026-01-01 TO soon]", "f_authorizedDate"),
    ("f_isInstore=maybe", "f_isInstore='maybe': use true or false"),
    ("f_hasInputInvoice=1", "f_hasInputInvoice='1'"), ("incompleteOrders=yes", "incompleteOrders"),
    ("searchField=sku_Ids&sku_Ids=25", "Unsupported query parameter searchField"),
    ("f_shippingEstimate=7.days", "Unsupported query parameter f_shippingEstimate"),
    # Only the first was read: the list answered with the invoiced orders alone.
    ("f_status=invoiced&f_status=canceled", "f_status: it is given 2 times, as 'invoiced', 'canceled'; give it once "
                                            "(a filter's several values go in one, separated by commas)"),
    ("page=1&per_page=5&page=2", "page: it is given 2 times, as '1', '2'"),
])
async def test_bad_list_parameters_are_named(sim: Sim, query: str, name: str) -> None:
    status, body = await sim.call("GET", f"/api/oms/pvt/orders?{query}")
    assert (status, body["error"]["code"]) == (400, "SIM008")
    assert name in body["error"]["message"]


async def test_a_journal_since_with_no_moment_in_utc_is_named(sim: Sim) -> None:
    status, body = await sim.call("GET", "/_sim/journal?since=9999-12-31T23:59:59-05:00", role="admin")
    assert (status, body["error"]["code"]) == (400, "SIM008")
    assert "since='9999-12-31T23:59:59-05:00'" in body["error"]["message"]


async def test_order_group_lists_the_chain_orders(sim: Sim) -> None:
    await sim.place()
    status, body = await sim.call("GET", "/api/oms/pvt/orders/order-group/MKP-externalMarketplace10")
    assert status == 200
    assert default_registry().findings("order-group", body) == []
    assert [o["orderId"] for o in body] == [seeds.SEED_ORDER_ID]
    status, body = await sim.call("GET", "/api/oms/pvt/orders/order-group/nothing")
    assert (status, body["error"]["code"]) == (404, "CHK0199")


async def test_an_order_group_is_not_confused_with_one_whose_name_extends_it(sim: Sim) -> None:
    for group in ("g", "g-1", "g.1", "g-01"):
        await sim.place(group)
    for group, expected in (("MKP-g", ["MKP-g-01"]), ("MKP-g-1", ["MKP-g-1-01"]), ("MKP-g-01", ["MKP-g-01-01"])):
        _, body = await sim.call("GET", f"/api/oms/pvt/orders/order-group/{group}", expect=200)
        assert [o["orderId"] for o in body] == expected


async def test_sellers_read_too_and_strangers_do_not(sim: Sim) -> None:
    await sim.place()
    await sim.call("GET", f"/api/oms/pvt/orders/{seeds.SEED_ORDER_ID}", role="seller", expect=200)
    await sim.call("GET", f"/api/oms/pvt/orders/{seeds.SEED_ORDER_ID}", role=None, expect=401)


async def test_schemas_are_served(sim: Sim) -> None:
    _, listing = await sim.call("GET", "/_sim/schemas", role=None, expect=200)
    assert "place-order.request.json" in listing["schemas"]
    _, schema = await sim.call("GET", "/_sim/schemas/place-order.request", role=None, expect=200)
    assert schema["$id"] == "https://moisim.dev/schemas/place-order.request.json"
    _, same = await sim.call("GET", "/_sim/schemas/place-order.request.json", role=None, expect=200)
    assert same == schema
    status, body = await sim.call("GET", "/_sim/schemas/nope", role=None)
    assert (status, body["error"]["code"]) == (404, "SIM011")


async def test_health_needs_no_keys(sim: Sim) -> None:
    _, body = await sim.call("GET", "/_sim/health", role=None, expect=200)
    assert body["status"] == "ok" and body["clock"] == "virtual"


def test_list_statistics_are_vtex_figures() -> None:
    """The mean and the sample standard deviation come out as in VTEX's own example
    (Orders API, List orders, stats.totalValue.Facets.origin.Marketplace and .totalItems...Fulfillment)."""
    from simulator.domain.orders import Figures
    from simulator.domain.render import list_stats

    value = Figures(count=16, least=1160, greatest=21526180, sum=21969611, sum_of_squares=463417210029853)
    items = Figures(count=68, least=1, greatest=1, sum=68, sum_of_squares=68)
    stats = list_stats(value, items)["stats"]
    chain = stats["totalValue"]["Facets"]["origin"]["Chain"]
    assert chain == {"Count": 16, "Max": 21526180, "Mean": 1373100.6875, "Min": 1160, "Missing": 0,
                     "StdDev": pytest.approx(5374326.141087491, rel=1e-12), "Sum": 21969611,
                     "SumOfSquares": 463417210029853, "Facets": None}
    assert stats["totalItems"]["Mean"] == 1 and stats["totalItems"]["StdDev"] == 0
    assert isinstance(stats["totalItems"]["Mean"], int)  # written "1", as VTEX writes it
    nothing = list_stats(Figures(), Figures())["stats"]["totalValue"]
    assert (nothing["Count"], nothing["Mean"], nothing["StdDev"], nothing["Sum"]) == (0, 0, 0, 0)


async def test_list_stats_count_every_matching_order_not_only_the_page(sim: Sim) -> None:
    quantities = [1, 2, 5]
    for n, quantity in enumerate(quantities):
        body = seeds.place_body(f"stats-{n}")
        body["items"][1]["quantity"] = quantity  # SKU 36 at 120; SKU 8 at 12 stays at 1
        await sim.call("PUT", "/api/checkout/pvt/orders?sc=1&affiliateId=MKP", json=body, expect=200)
    await sim.authorize("MKP-stats-0-01", "stats-0")
    _, body = await sim.call("GET", "/api/oms/pvt/orders?per_page=1")
    assert default_registry().findings("order-list", body) == []
    values = [12 + 120 * q for q in quantities]
    units = [1 + q for q in quantities]
    value = body["stats"]["stats"]["totalValue"]
    assert (value["Count"], value["Min"], value["Max"], value["Sum"]) == (3, min(values), max(values), sum(values))
    assert value["SumOfSquares"] == sum(v * v for v in values)
    assert value["Mean"] == pytest.approx(sum(values) / 3)
    assert value["Facets"]["origin"]["Chain"]["Sum"] == sum(values)
    assert value["Facets"]["origin"]["Fulfillment"]["Count"] == 0  # franchise orders belong to level 3
    assert value["Facets"]["currencyCode"]["BRL"]["Count"] == 3
    items = body["stats"]["stats"]["totalItems"]
    assert (items["Count"], items["Min"], items["Max"], items["Sum"]) == (3, min(units), max(units), sum(units))
    assert sorted(o["totalItems"] for o in (await sim.call("GET", "/api/oms/pvt/orders"))[1]["list"]) == sorted(units)
    _, only = await sim.call("GET", "/api/oms/pvt/orders?f_status=payment-approved")
    assert only["stats"]["stats"]["totalValue"]["Sum"] == values[0]  # the filter applies to the stats too


async def test_an_address_the_marketplace_sends_is_the_orders_address(sim: Sim) -> None:
    body = seeds.place_body("with-address")
    address = {"addressType": "residential", "receiverName": "Sicrano", "postalCode": "22630-011", "city": "Rio de Janeiro",
               "state": "RJ", "country": "BRA", "street": "Avenida Lúcio Costa", "number": "126"}
    body["shippingData"]["address"] = {**address, "deliveryNotes": "ring twice"}  # a field VTEX does not name
    _, placed = await sim.call("PUT", "/api/checkout/pvt/orders?sc=1&affiliateId=MKP", json=body, expect=200)
    expected = {**dict.fromkeys(ADDRESS_FIELDS), "geoCoordinates": [], **address, "deliveryNotes": "ring twice"}
    # Checkout's address says whether it is disposable: an address a marketplace sends is.
    assert placed["orders"][0]["shippingData"]["address"] == {**expected, "isDisposable": True}
    got = (await sim.order("MKP-with-address-01"))["shippingData"]["address"]
    assert got == expected and list(got)[:len(ADDRESS_FIELDS)] == list(ADDRESS_FIELDS)


async def test_list_stats_past_64_bit_sums_still_answer(sim: Sim) -> None:
    """Two orders of 30 million each: their squares add up past 2**63, where SQLite's SUM refuses;
    the list still answers, with the sum of squares in floating point."""
    big = 3_000_000_000
    for n in range(2):
        body = seeds.place_body(f"big-{n}")
        body["items"][1]["price"] = big  # differs from the catalog: accepted with a warning
        await sim.call("PUT", "/api/checkout/pvt/orders?sc=1&affiliateId=MKP", json=body, expect=200)
    status, body = await sim.call("GET", "/api/oms/pvt/orders")
    assert status == 200
    value = body["stats"]["stats"]["totalValue"]
    assert value["Sum"] == 2 * (big + 12)
    assert value["SumOfSquares"] == pytest.approx(2 * (big + 12) ** 2, rel=1e-12)
    assert value["SumOfSquares"] > 2 ** 63
    assert default_registry().findings("order-list", body) == []


async def test_shipping_is_priced_in_the_logistics_entry_and_the_totals(sim: Sim) -> None:
    body = seeds.place_body("shipped")
    body["shippingData"]["logisticsInfo"][1]["price"] = 500
    await sim.call("PUT", "/api/checkout/pvt/orders?sc=1&affiliateId=MKP", json=body, expect=200)
    order = await sim.order("MKP-shipped-01")
    assert order["shippingData"]["logisticsInfo"][1]["price"] == 500
    assert {t["id"]: t["value"] for t in order["totals"]}["Shipping"] == 500 and order["value"] == 632
    assert order["items"][1]["shippingPrice"] is None  # as in VTEX's Get order example


async def test_the_loop_serves_while_a_list_is_read(make_sim: SimFactory, tmp_path: Path) -> None:
    """A list on a file is read on the reader's thread: with that thread held up, the server still
    places, reads and authorizes orders; the list answers once the thread is free, with everything
    committed by then."""
    sim = await make_sim(store={"path": str(tmp_path / "moisim.db")})
    await sim.place("first")
    reader = sim.store._reader
    assert reader is not None
    busy, free = threading.Event(), threading.Event()

    def hold(db: object) -> None:
        busy.set()
        assert free.wait(10)

    held = asyncio.ensure_future(reader.run(hold))
    listing = asyncio.ensure_future(sim.call("GET", "/api/oms/pvt/orders?f_status=payment-approved", expect=200))
    try:
        await asyncio.get_running_loop().run_in_executor(None, busy.wait, 10)
        await sim.place("second")
        await sim.authorize("MKP-second-01", "second")
        assert (await sim.order("MKP-second-01"))["status"] == "payment-approved"
        assert not listing.done()
    finally:
        free.set()  # (a failure above must not leave the reader's thread waiting)
    await held
    _, body = await listing
    assert [o["orderId"] for o in body["list"]] == ["MKP-second-01"]
    assert body["stats"]["stats"]["totalValue"]["Count"] == 1


async def test_a_list_on_a_file_shows_every_order_already_answered(make_sim: SimFactory, tmp_path: Path) -> None:
    """The reader's connection sees what is committed, and every reply waits for its commit: a
    list that follows a placement's reply always shows it."""
    sim = await make_sim(store={"path": str(tmp_path / "moisim.db")})
    placed: set[str] = set()
    for n in range(20):
        placed.add((await sim.place(f"seen-{n}"))["orders"][0]["orderId"])
        _, body = await sim.call("GET", "/api/oms/pvt/orders?per_page=100", expect=200)
        assert body["paging"]["total"] == len(placed)
        assert {o["orderId"] for o in body["list"]} == placed
    assert sim.store._reader is not None


async def test_a_store_without_a_file_lists_on_the_loops_connection() -> None:
    """In memory, or SQLite's private temporary database (path ""), no other connection can open
    the database: a list reads on the loop's connection, and sees the store's own orders."""
    from dataclasses import replace

    from simulator.clock import VirtualClock
    from simulator.config import load_config
    from simulator.domain.service import OrderService
    from simulator.http.app import open_store

    for path in (":memory:", ""):
        config = replace(load_config(None), store_path=path)
        store = open_store(config)
        store.start_group_commit(asyncio.get_running_loop())
        try:
            assert store._reader is None
            OrderService(config, store, VirtualClock()).place("moisim", "MKP", "1", seeds.place_body("no-file"))
            await store.durable()
            listing = await store.list_orders_off_loop("moisim")
            assert [o.id for o in listing.orders] == ["MKP-no-file-01"], path
        finally:
            store.close()


async def test_a_reader_job_reads_one_snapshot(make_sim: SimFactory, tmp_path: Path) -> None:
    """A list's figures and its page are two statements: an order committed between them must not
    make the page disagree with the count. Each reader job is one read transaction."""
    sim = await make_sim(store={"path": str(tmp_path / "moisim.db")})
    await sim.place("before")
    between, committed = threading.Event(), threading.Event()

    def two_reads(db) -> tuple[int, int]:  # noqa: ANN001
        first = db.execute("SELECT COUNT(*) FROM orders WHERE kind='chain'").fetchone()[0]
        between.set()
        assert committed.wait(10)
        return first, db.execute("SELECT COUNT(*) FROM orders WHERE kind='chain'").fetchone()[0]

    job = asyncio.ensure_future(sim.store._reader.run(two_reads))
    await asyncio.get_running_loop().run_in_executor(None, between.wait, 10)
    await sim.place("between")  # answered: committed
    committed.set()
    assert await job == (1, 1)
    _, body = await sim.call("GET", "/api/oms/pvt/orders", expect=200)
    assert body["paging"]["total"] == 2


async def test_the_reader_never_makes_a_database_of_its_own(tmp_path: Path) -> None:
    """A file deleted (or renamed) under the server is an error for the list, not a new empty
    database the list would then read as "no orders"."""
    import sqlite3

    from simulator.store.reader import Reader

    missing = tmp_path / "moisim db #1?.db"  # a name the reader's URI must escape, too
    reader = Reader(str(missing))
    try:
        with pytest.raises(sqlite3.OperationalError, match="unable to open"):
            await reader.run(lambda db: db.execute("SELECT 1").fetchone())
        assert not missing.exists()
        sqlite3.connect(missing).execute("CREATE TABLE t (x)")
        assert await reader.run(lambda db: db.execute("SELECT COUNT(*) FROM t").fetchone()) == (0,)
    finally:
        reader.close()
