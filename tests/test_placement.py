"""Placing chain orders: the seed's example, the shape of the answer, and every way to get it wrong."""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from typing import Any

import pytest

from simulator.schemas import default_registry
from tests import seeds
from tests.conftest import Sim, headers
from tests.mutations import mutations

PLACE = "/api/checkout/pvt/orders?sc=1&affiliateId=MKP"


async def test_seed_example_unchanged_is_placed(sim: Sim) -> None:
    status, body = await sim.call("PUT", PLACE, data=seeds.PLACE_ORDER_TEXT)
    assert status == 200, body
    assert default_registry().findings("place-order.response", body) == []
    order = body["orders"][0]
    assert order["orderId"] == seeds.SEED_ORDER_ID
    assert order["orderGroup"] == "MKP-externalMarketplace10"
    assert order["state"] == "waiting-for-mkt-authorization"
    assert order["value"] == 132
    assert [i["id"] for i in order["items"]] == ["8", "36"]
    assert body["orderForm"] is None


async def test_placement_creates_chain_and_franchise_orders_and_reserves_stock(sim: Sim) -> None:
    await sim.place()
    chain = await sim.order(seeds.SEED_ORDER_ID)
    assert chain["origin"] == "Chain"
    assert chain["marketplaceOrderId"] == "externalMarketplace10"
    assert chain["marketplaceServicesEndpoint"] == "http://service.externalmarketplace.com/api/orders?parameter=value"
    # The pickup SLA exists only at franquia-centro, which also has SKU 36: one franchise order.
    assert chain["franchiseOrderIds"] == ["FRC-MKP-externalMarketplace10-01"]
    franchise = await sim.order("FRC-MKP-externalMarketplace10-01")
    assert franchise["status"] == "waiting-ffmt-authorization"
    assert franchise["origin"] == "Fulfillment"
    stock = {(s["storeId"], s["sku"]): s for s in sim.store.stock("moisim")}
    assert stock[("franquia-centro", "8")]["reserved"] == 1
    assert stock[("franquia-centro", "36")]["reserved"] == 1
    assert stock[("franquia-norte", "8")]["reserved"] == 0


async def test_payment_value_mismatch_is_accepted_with_a_warning(sim: Sim) -> None:
    await sim.place()
    chain = await sim.order(seeds.SEED_ORDER_ID)
    assert chain["marketplacePaymentValue"] == 1550
    assert any("1550" in w and "132" in w for w in chain["warnings"])


async def test_items_split_across_franchise_stores_when_no_store_has_everything(make_sim) -> None:
    sim = await make_sim(**{"franchise-stores": [
        {"id": "a", "affiliate-id": "FRA", "slas": ["Normal", "Retirada (14b25e5)"], "stock": {"default": 0, "8": 5}},
        {"id": "b", "affiliate-id": "FRB", "slas": ["Normal"], "stock": {"default": 10}},
    ]})
    await sim.place()
    chain = await sim.order(seeds.SEED_ORDER_ID)
    assert chain["franchiseOrderIds"] == ["FRA-MKP-externalMarketplace10-01", "FRB-MKP-externalMarketplace10-01"]
    assert [i["id"] for i in (await sim.order("FRA-MKP-externalMarketplace10-01"))["items"]] == ["8"]
    assert [i["id"] for i in (await sim.order("FRB-MKP-externalMarketplace10-01"))["items"]] == ["36"]


async def test_a_query_parameter_given_twice_with_the_same_value_is_read(sim: Sim) -> None:
    status, body = await sim.call("PUT", PLACE + "&sc=1", json=seeds.place_body())
    assert status == 200, body


async def test_lower_case_affiliateid_is_accepted(sim: Sim) -> None:
    status, body = await sim.call("PUT", "/api/checkout/pvt/orders?affiliateid=MKP&sc=1", json=seeds.place_body())
    assert status == 200, body


async def test_duplicate_placement_is_refused_with_fmt009(sim: Sim) -> None:
    await sim.place()
    status, body = await sim.call("PUT", PLACE, json=seeds.place_body())
    assert status == 400
    assert body["error"]["code"] == "FMT009"
    assert "externalMarketplace10" in body["error"]["message"]


async def test_duplicate_placement_replays_when_configured(make_sim) -> None:
    sim = await make_sim(placement={"duplicates": "replay"})
    first = await sim.place()
    second = await sim.place()
    assert second == first
    assert sum(1 for s in sim.store.stock("moisim") if s["reserved"]) == 2  # reserved once, not twice


async def test_racing_identical_placements_create_one_order(sim: Sim) -> None:
    results = await asyncio.gather(*(sim.call("PUT", PLACE, json=seeds.place_body()) for _ in range(8)))
    outcomes = sorted((status, body["error"]["code"] if status != 200 else None) for status, body in results)
    assert outcomes == [(200, None)] + [(400, "FMT009")] * 7
    listing = sim.store.list_orders("moisim")
    assert [o.id for o in listing.orders] == [seeds.SEED_ORDER_ID] and listing.total == 1
    reserved = {(s["storeId"], s["sku"]): s["reserved"] for s in sim.store.stock("moisim")}
    assert reserved[("franquia-centro", "8")] == 1


async def test_replacing_a_canceled_order_is_fmt0060(sim: Sim) -> None:
    await sim.place()
    await sim.call("POST", f"/api/oms/pvt/orders/{seeds.SEED_ORDER_ID}/cancel", json={"reason": "x"}, expect=200)
    status, body = await sim.call("PUT", PLACE, json=seeds.place_body())
    assert (status, body["error"]["code"]) == (400, "FMT0060")


def _mutated(**changes) -> dict:
    body = seeds.place_body()
    for path, value in changes.items():
        target = body
        parts = path.split(".")
        for part in parts[:-1]:
            target = target[int(part)] if part.isdigit() else target[part]
        last = parts[-1]
        if value is _DELETE:
            del target[int(last) if last.isdigit() else last]
        elif last.isdigit():
            target[int(last)] = value
        else:
            target[last] = value
    return body


_DELETE = object()

BAD_BODIES = [
    ("no items", {"items": []}, "ORD005", "items"),
    ("items missing", {"items": _DELETE}, "ORD005", "items"),
    ("item id not a string", {"items.0.id": 8}, "CHK0022", "items[0].id"),
    ("quantity zero", {"items.0.quantity": 0}, "CHK0023", "items[0].quantity"),
    ("quantity absurd", {"items.1.quantity": 10**30}, "CHK0023", "items[1].quantity"),
    ("quantity a string", {"items.0.quantity": "1"}, "CHK0023", "items[0].quantity"),
    ("seller missing", {"items.0.seller": _DELETE}, "CHK0024", "items[0].seller"),
    ("negative price", {"items.0.price": -1}, "CHK0025", "items[0].price"),
    ("shipping data missing", {"shippingData": _DELETE}, "ORD045", "shippingData"),
    ("logistics missing", {"shippingData.logisticsInfo": _DELETE}, "ORD006", "shippingData.logisticsInfo"),
    ("bad channel", {"shippingData.logisticsInfo.0.selectedDeliveryChannel": "drone"}, "ORD006",
     "shippingData.logisticsInfo[0].selectedDeliveryChannel"),
    ("email missing", {"clientProfileData.email": _DELETE}, "ORD007", "clientProfileData.email"),
    ("email nonsense", {"clientProfileData.email": "not-an-email"}, "ORD007", "clientProfileData.email"),
    ("corporate name a number", {"clientProfileData.corporateName": 5}, "ORD007", "clientProfileData.corporateName"),
    ("is corporate a string", {"clientProfileData.isCorporate": "yes"}, "ORD007", "clientProfileData.isCorporate"),
    ("delivery window a word", {"shippingData.logisticsInfo.1.deliveryWindow": "tomorrow"}, "ORD006",
     "shippingData.logisticsInfo[1].deliveryWindow"),
    ("delivery window with no end", {"shippingData.logisticsInfo.0.deliveryWindow": {"startDateUtc": "x"}}, "ORD006",
     "endDateUtc"),
    ("contact information a string", {"shippingData.contactInformation": "Ann"}, "ORD006",
     "shippingData.contactInformation"),
    ("is gift a word", {"items.1.isGift": "yes"}, "SIM002", "items[1].isGift"),
    ("attachments not a list", {"items.0.attachments": {"name": "x"}}, "SIM002", "items[0].attachments"),
    ("order group missing", {"marketplaceOrderGroup": _DELETE}, "CHK0144", "marketplaceOrderGroup"),
    ("order group with a slash", {"marketplaceOrderGroup": "a/b"}, "CHK0144", "marketplaceOrderGroup"),
    ("payment value text", {"marketplacePaymentValue": "1550"}, "CHK0145", "marketplacePaymentValue"),
    ("endpoint not a URL", {"marketplaceServicesEndpoint": "service.example.com"}, "CHK0146", "marketplaceServicesEndpoint"),
    ("endpoint ftp", {"marketplaceServicesEndpoint": "ftp://h/x"}, "CHK0146", "marketplaceServicesEndpoint"),
]


@pytest.mark.parametrize("name,changes,code,field", BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
async def test_invalid_bodies_name_the_field(sim: Sim, name, changes, code, field) -> None:
    status, body = await sim.call("PUT", PLACE, json=_mutated(**changes))
    assert status == 400, body
    assert body["error"]["code"] == code
    assert field in body["error"]["message"]
    assert body["error"]["exception"] is None
    assert sim.store.list_orders("moisim").total == 0


@pytest.mark.parametrize("count,code,message", [
    (0, "ORD005", "The purchase cannot be done without items: items: has 0 items, where at least 1 is required"),
    (101, "SIM002", "Invalid request body: items: has 101 items, where at most 100 are allowed"),
])
async def test_too_few_or_too_many_items_say_how_many(sim: Sim, count: int, code: str, message: str) -> None:
    """Too many items once answered ORD005, "cannot be done without items", and wrote the whole
    array into the message before cutting it off; VTEX's code is for an order with none."""
    body = seeds.place_body()
    item, logistics = body["items"][1], body["shippingData"]["logisticsInfo"][1]
    body["items"] = [dict(item) for _ in range(count)]
    body["shippingData"]["logisticsInfo"] = [dict(logistics, itemIndex=i) for i in range(min(count, 100))]
    status, reply = await sim.call("PUT", PLACE, json=body)
    assert (status, reply["error"]["code"]) == (400, code)
    assert reply["error"]["message"].startswith(message)


async def test_the_client_profile_is_kept_as_the_marketplace_sent_it(sim: Sim) -> None:
    profile = {"email": "buyer@company.example", "firstName": "Ann", "lastName": "Lee", "documentType": "cpf",
               "document": "21133355524", "phone": "+5511999999999", "corporateName": "Company S.A.",
               "tradeName": "Company", "corporateDocument": "12345678000199", "stateInscription": "ISENTO",
               "corporatePhone": "+551133333333", "isCorporate": True, "userProfileId": "u-1", "customerClass": "gold",
               "userProfileVersion": "v-7", "customerCode": "c-9"}
    placed = await sim.place(clientProfileData=profile)
    order = await sim.order(seeds.SEED_ORDER_ID)
    assert order["clientProfileData"] == {"id": "clientProfileData", **profile}
    # Checkout's form says how the profile loaded: the marketplace's, complete as sent, without error.
    assert placed["orders"][0]["clientProfileData"] == {"id": "clientProfileData", **profile,
                                                        "profileCompleteOnLoading": False,
                                                        "profileErrorOnLoading": False}
    await sim.place("plain")  # the MOI guide's body: an email only
    plain = (await sim.order("MKP-plain-01"))["clientProfileData"]
    assert plain["email"] == "sicrano@mailinator.com" and plain["isCorporate"] is False
    assert {k for k, v in plain.items() if v is None} == set(profile) - {"email", "isCorporate"}


async def test_a_scheduled_delivery_window_is_kept_on_the_chain_and_franchise_order(sim: Sim) -> None:
    window = {"startDateUtc": "2026-11-24T08:00:00+00:00", "endDateUtc": "2026-11-24T12:00:00+00:00", "price": 0}
    body = seeds.place_body()
    body["shippingData"]["logisticsInfo"][1]["deliveryWindow"] = window
    await sim.call("PUT", PLACE, json=body, expect=200)
    chain = await sim.order(seeds.SEED_ORDER_ID)
    assert [li["deliveryWindow"] for li in chain["shippingData"]["logisticsInfo"]] == [None, window]
    windows = []
    for franchise_id in chain["franchiseOrderIds"]:
        franchise = await sim.order(franchise_id)
        windows += [(item["id"], li["deliveryWindow"])
                    for item, li in zip(franchise["items"], franchise["shippingData"]["logisticsInfo"], strict=True)]
    assert sorted(windows, key=lambda w: w[0]) == [("36", window), ("8", None)]


async def test_item_attachments_gifts_and_tags_are_kept_as_sent(sim: Sim) -> None:
    sent = {"attachments": [{"name": "Engraving", "content": {"text": "A & B"}}], "isGift": True,
            "priceTags": [{"name": "discount@marketplace", "value": -100, "isPercentual": False}],
            "itemAttachment": {"name": "Engraving", "content": {"text": "A & B"}}, "commission": 15,
            "freightCommission": 5, "bundleItems": [{"id": "gift-wrap", "name": "Gift wrap", "price": 0}]}
    body = seeds.place_body()
    body["items"][1].update(sent)
    placed = (await sim.call("PUT", PLACE, json=body, expect=200))[1]
    chain = await sim.order(seeds.SEED_ORDER_ID)
    franchise_items = [i for f in chain["franchiseOrderIds"] for i in (await sim.order(f))["items"]]
    for item in (placed["orders"][0]["items"][1], chain["items"][1], *[i for i in franchise_items if i["id"] == "36"]):
        assert {k: item[k] for k in sent} == sent
    plain = chain["items"][0]
    assert (plain["attachments"], plain["isGift"], plain["priceTags"], plain["commission"]) == ([], False, [], 0)


async def test_pickup_contact_information_is_kept(sim: Sim) -> None:
    contact = [{"id": "c-1", "email": "picker@example.com", "firstName": "Ann", "lastName": "Lee",
                "document": "21133355524", "documentType": "cpf", "phone": "+5511999999999"}]
    body = seeds.place_body()
    body["shippingData"]["contactInformation"] = contact
    await sim.call("PUT", PLACE, json=body, expect=200)
    assert (await sim.order(seeds.SEED_ORDER_ID))["shippingData"]["contactInformation"] == contact
    await sim.place("plain")
    assert (await sim.order("MKP-plain-01"))["shippingData"]["contactInformation"] == []


BUSINESS_ERRORS = [
    ("unknown SKU", {"items.0.id": "424242"}, "ORD027", "424242"),
    ("wrong seller", {"items.0.seller": "2"}, "CHK0024", "items[0].seller"),
    ("unknown SLA", {"shippingData.logisticsInfo.1.selectedSla": "Expressa"}, "FMT010", "Expressa"),
    ("channel does not fit the SLA", {"shippingData.logisticsInfo.1.selectedDeliveryChannel": "pickup-in-point"},
     "FMT010", "Normal"),
    ("itemIndex out of range", {"shippingData.logisticsInfo.1.itemIndex": 7}, "ORD006", "itemIndex"),
    ("item without logistics", {"shippingData.logisticsInfo.1.itemIndex": 0}, "ORD006", "already"),
    ("endpoint port out of range", {"marketplaceServicesEndpoint": "http://127.0.0.1:99999/x"}, "CHK0146",
     "its port is not a number from 1 to 65535"),
    ("endpoint port not a number", {"marketplaceServicesEndpoint": "http://h.example:80a/x"}, "CHK0146", "its port"),
    ("endpoint IPv6 host not closed", {"marketplaceServicesEndpoint": "http://[::1/x"}, "CHK0146", "no closing ]"),
    ("endpoint without a host", {"marketplaceServicesEndpoint": "http://:80/x"}, "CHK0146", "no host"),
    # 900,000 units at the schema's highest price: 9e16 cents. Past 2**63 it was a 500 (SQLite's integers).
    ("value over 2**53 - 1", {"items.1.quantity": 900000, "items.1.price": 100000000000}, "SIM002",
     "the order's value would be 90000000000000012 cents, over 9007199254740991"),
]


@pytest.mark.parametrize("name,changes,code,text", BUSINESS_ERRORS, ids=[b[0] for b in BUSINESS_ERRORS])
async def test_business_errors(sim: Sim, name, changes, code, text) -> None:
    status, body = await sim.call("PUT", PLACE, json=_mutated(**changes))
    assert (status, body["error"]["code"]) == (400, code), body
    assert text in body["error"]["message"]
    assert sim.store.list_orders("moisim").total == 0


async def test_item_with_no_logistics_entry_is_fmt004(sim: Sim) -> None:
    body = seeds.place_body()
    body["shippingData"]["logisticsInfo"].pop()
    status, reply = await sim.call("PUT", PLACE, json=body)
    assert (status, reply["error"]["code"]) == (400, "FMT004")
    assert "1(36)" in reply["error"]["message"]


async def test_scarce_sku_runs_out_and_nothing_is_reserved(sim: Sim) -> None:
    body = seeds.place_body("scarce-1")
    body["items"] = [{"id": "999", "quantity": 3, "seller": "1", "price": 99900}]
    body["shippingData"]["logisticsInfo"] = [{"itemIndex": 0, "selectedSla": "Normal", "price": 0}]
    status, reply = await sim.call("PUT", PLACE, json=body)
    assert status == 200, reply
    body["marketplaceOrderGroup"] = "scarce-2"
    body["items"][0]["quantity"] = 1
    status, reply = await sim.call("PUT", PLACE, json=body)
    assert (status, reply["error"]["code"]) == (400, "ORD027")
    assert "0 free" in reply["error"]["message"]
    available = {(s["storeId"], s["sku"]): s["available"] for s in sim.store.stock("moisim")}
    assert available[("franquia-centro", "999")] == 0


@pytest.mark.parametrize("query,code,says", [
    ("sc=1", "CHK0120", "the query string has no affiliateId"),
    ("sc=1&affiliateId=", "CHK0120", "the query string has no affiliateId"),
    ("sc=1&affiliateId=XYZ", "CHK0120", "affiliateId 'XYZ' is not an affiliate of this seller (affiliates: MKP)"),
    ("affiliateId=MKP", "CHK0161", "the query string has no sc; affiliate MKP sells on sales channel 1"),
    ("sc=2&affiliateId=MKP", "CHK0161", "sc '2'; affiliate MKP sells on sales channel 1"),
    ("sc=1&sc=2&affiliateId=MKP", "SIM008", "Invalid query parameter sc: it is given 2 times, as '1', '2'; give it once"),  # placed on 1
])
async def test_affiliate_and_sales_channel_are_checked(sim: Sim, query: str, code: str, says: str) -> None:
    status, body = await sim.call("PUT", f"/api/checkout/pvt/orders?{query}", json=seeds.place_body())
    assert (status, body["error"]["code"]) == (400, code)
    assert says in body["error"]["message"]


@pytest.mark.parametrize("text,where", [
    ('{"items": [', "line 1 column 12"),
    ("{'items': []}", "line 1 column 2"),
    ("", "empty"),
    ("[1, 2", "line 1"),
])
async def test_invalid_json_says_where_it_broke(sim: Sim, text: str, where: str) -> None:
    status, body = await sim.call("PUT", PLACE, data=text)
    assert (status, body["error"]["code"]) == (400, "SIM001")
    assert where in body["error"]["message"]


async def test_a_body_that_is_not_utf8_is_a_400_naming_the_byte(sim: Sim) -> None:
    raw = json.dumps(seeds.place_body()).encode().replace(b"sicrano", b"sicr\xe3no")  # Latin-1, unlabelled
    status, body = await sim.call("PUT", PLACE, data=raw)
    assert (status, body["error"]["code"]) == (400, "SIM001")
    assert "not UTF-8" in body["error"]["message"] and "0xe3" in body["error"]["message"]
    _, journal = await sim.call("GET", "/_sim/journal?direction=in&kind=place-order", role="admin", expect=200)
    entry = journal["entries"][-1]
    assert entry["status"] == 400 and entry["body"]["clientProfileData"]["email"] == "sicr\ufffdno@mailinator.com"


async def test_a_body_in_the_charset_it_names_is_read_in_that_charset(sim: Sim) -> None:
    raw = json.dumps(seeds.place_body(), ensure_ascii=False).replace("sicrano", "sicrãno").encode("latin-1")
    async with sim.client.put(PLACE, data=raw, headers={
            **headers("marketplace"), "Content-Type": "application/json; charset=iso-8859-1"}) as resp:
        assert resp.status == 200, await resp.text()
    assert (await sim.order(seeds.SEED_ORDER_ID))["clientProfileData"]["email"] == "sicrãno@mailinator.com"


@pytest.mark.parametrize("charset", ["no-such-charset", "utf-16"])
async def test_an_unknown_or_wrong_charset_is_a_400(sim: Sim, charset: str) -> None:
    async with sim.client.put(PLACE, data=json.dumps(seeds.place_body()).encode(), headers={
            **headers("marketplace"), "Content-Type": f"application/json; charset={charset}"}) as resp:
        body = await resp.json()
    assert (resp.status, body["error"]["code"]) == (400, "SIM001")
    assert charset in body["error"]["message"]
    _, journal = await sim.call("GET", "/_sim/journal?kind=place-order", role="admin", expect=200)
    assert journal["entries"][-1]["status"] == 400  # journaled all the same


async def test_a_body_in_another_charset_is_journaled_as_the_text_it_is(sim: Sim) -> None:
    raw = json.dumps(seeds.place_body(), ensure_ascii=False).replace("sicrano", "sicrãno").encode("latin-1")
    async with sim.client.put(PLACE, data=raw, headers={
            **headers("marketplace"), "Content-Type": "application/json; charset=iso-8859-1"}) as resp:
        assert resp.status == 200
    _, journal = await sim.call("GET", "/_sim/journal?kind=place-order", role="admin", expect=200)
    assert journal["entries"][-1]["body"]["clientProfileData"]["email"] == "sicrãno@mailinator.com"


@pytest.mark.parametrize("bom,codec,content_type", [
    (b"\xef\xbb\xbf", "utf-8", "application/json"),
    (b"\xef\xbb\xbf", "utf-8", "application/json; charset=iso-8859-1"),  # the mark wins, as in .NET
    (b"", "utf-16", "application/json"),  # Python's utf-16 writes its own mark
])
async def test_a_body_with_a_byte_order_mark_is_read_in_the_encoding_it_names(
        sim: Sim, bom: bytes, codec: str, content_type: str) -> None:
    """VTEX's .NET stack reads a body by its byte order mark, and RFC 8259 lets a parser ignore
    one: a marketplace whose HTTP client writes the mark was refused (SIM001) before."""
    raw = bom + json.dumps(seeds.place_body(), ensure_ascii=False).replace("sicrano", "sicrãno").encode(codec)
    async with sim.client.put(PLACE, data=raw, headers={**headers("marketplace"), "Content-Type": content_type}) as resp:
        assert resp.status == 200, await resp.text()
    assert (await sim.order(seeds.SEED_ORDER_ID))["clientProfileData"]["email"] == "sicrãno@mailinator.com"
    _, journal = await sim.call("GET", "/_sim/journal?kind=place-order", role="admin", expect=200)
    assert journal["entries"][-1]["body"]["clientProfileData"]["email"] == "sicrãno@mailinator.com"


@pytest.mark.parametrize("payload", ["[]", "null", "42", '"text"', "true"])
async def test_json_that_is_not_an_object_is_a_400(sim: Sim, payload: str) -> None:
    status, body = await sim.call("PUT", PLACE, data=payload)
    assert status == 400
    assert body["error"]["code"] in ("SIM002", "ORD005")


def _nested(levels: int) -> str:
    return "[" * levels + "]" * levels


async def test_a_body_nested_64_levels_deep_is_placed(sim: Sim) -> None:
    body = seeds.place_body()
    body["clientProfileData"]["note"] = json.loads(_nested(62))  # the body, clientProfileData, then 62 arrays
    status, answer = await sim.call("PUT", PLACE, data=json.dumps(body))
    assert status == 200, answer


@pytest.mark.parametrize(("old", "new", "named"), [
    ('"clientProfileData":', f'"extra":{_nested(64)},"clientProfileData":', "extra[0][0][0]..."),  # 65 levels
    # Each of these was a 500: the standard library's encoder, or jsonschema's message, ran out of stack.
    ('"clientProfileData":', f'"extra":{_nested(1000)},"clientProfileData":', "extra[0][0][0]..."),
    ('"externalMarketplace10"', _nested(1000), "marketplaceOrderGroup[0][0][0]..."),
    ('"items":[', f'"items":[{_nested(70)},', "items[0][0][0]..."),
], ids=["65-levels", "1000-unread", "1000-in-a-string-field", "71-in-items"])
async def test_a_body_nested_deeper_than_64_levels_is_a_400_naming_the_field(
        sim: Sim, old: str, new: str, named: str) -> None:
    text = seeds.PLACE_ORDER_TEXT.replace(old, new, 1)
    assert text != seeds.PLACE_ORDER_TEXT
    status, answer = await sim.call("PUT", PLACE, data=text)
    assert (status, answer["error"]["code"]) == (400, "SIM001"), answer
    assert answer["error"]["message"] == (f"Invalid JSON: {named} nests arrays and objects more than 64 levels deep; "
                                          "moisim reads at most 64, as .NET's JSON readers do")
    assert sim.store.list_orders("moisim").total == 0
    # journaled as the text it was; parsed back for the journal's reader, 1,000 levels cut every read short
    _, journal = await sim.call("GET", "/_sim/journal?kind=place-order", role="admin", expect=200)
    assert journal["entries"][-1]["body"] == text


async def test_a_body_nested_past_what_the_parser_reads_is_a_400_at_the_place(sim: Sim) -> None:
    status, answer = await sim.call("PUT", PLACE, data=_nested(5000))
    assert (status, answer["error"]["code"]) == (400, "SIM001")
    assert answer["error"]["message"] == ("Invalid JSON at line 1 column 1026 (character 1025): the body nests arrays "
                                          "and objects more than 64 levels deep; moisim reads at most 64, as .NET's "
                                          "JSON readers do")


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_a_body_that_does_not_decode_from_its_content_encoding_is_a_400(sim: Sim, encoding: str) -> None:
    async with sim.client.put(PLACE, data=b"not compressed at all", headers={
            **headers("marketplace"), "Content-Type": "application/json", "Content-Encoding": encoding}) as resp:
        status, body = resp.status, await resp.json()
    assert (status, body["error"]["code"]) == (400, "SIM001")
    assert body["error"]["message"] == f"Invalid JSON: the body could not be read (Can not decode content-encoding: {encoding})"
    assert sim.store.list_orders("moisim").total == 0


async def test_a_gzip_body_is_read(sim: Sim) -> None:
    import gzip

    async with sim.client.put(PLACE, data=gzip.compress(json.dumps(seeds.place_body()).encode()), headers={
            **headers("marketplace"), "Content-Type": "application/json", "Content-Encoding": "gzip"}) as resp:
        assert resp.status == 200
    assert (await sim.order(seeds.SEED_ORDER_ID))["status"] == "waiting-for-mkt-authorization"


async def test_body_over_one_mebibyte_is_413(sim: Sim) -> None:
    padding = "x" * (1024 * 1024 + 10)
    status, body = await sim.call("PUT", PLACE, data=json.dumps({"pad": padding}))
    assert (status, body["error"]["code"]) == (413, "SIM005")


async def test_missing_or_wrong_keys_are_401(sim: Sim) -> None:
    status, body = await sim.call("PUT", PLACE, role=None, json=seeds.place_body())
    assert (status, body["error"]["code"]) == (401, "1")
    async with sim.client.put(PLACE, json=seeds.place_body(), headers={
            "X-VTEX-API-AppKey": "moisim-marketplace", "X-VTEX-API-AppToken": "wrong"}) as resp:
        assert resp.status == 401
        assert "wrong" not in await resp.text()


@pytest.mark.parametrize("token", [b"\xff\xfe", b"moisim-marketplace-secre\xc3"])
async def test_a_token_that_is_not_utf8_is_401(sim: Sim, token: bytes) -> None:
    """aiohttp reads such a header with surrogateescape; comparing it with the key's token was a 500."""
    server = sim.client.server
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(b"GET /api/oms/pvt/orders HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                 b"X-VTEX-API-AppKey: moisim-marketplace\r\nX-VTEX-API-AppToken: " + token + b"\r\n\r\n")
    reply = await reader.read()
    writer.close()
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 401 ")
    assert json.loads(body)["error"]["code"] == "1"


async def test_seller_keys_may_not_place_orders(sim: Sim) -> None:
    status, body = await sim.call("PUT", PLACE, role="seller", json=seeds.place_body())
    assert (status, body["error"]["code"]) == (403, "SIM006")
    assert "seller role" in body["error"]["message"]


async def test_unknown_route_and_wrong_method_are_vtex_shaped(sim: Sim) -> None:
    status, body = await sim.call("GET", "/api/checkout/pvt/nothing-here")
    assert (status, body["error"]["code"]) == (404, "SIM003")
    status, body = await sim.call("DELETE", "/api/checkout/pvt/orders")
    assert (status, body["error"]["code"]) == (405, "SIM004")


async def test_a_trailing_slash_gets_a_404_that_names_the_route_without_it(sim: Sim) -> None:
    await sim.place()
    status, body = await sim.call("GET", f"/api/oms/pvt/orders/{seeds.SEED_ORDER_ID}/")
    assert (status, body["error"]["code"]) == (404, "SIM003")
    assert body["error"]["message"] == (f"Not found: no route GET /api/oms/pvt/orders/{seeds.SEED_ORDER_ID}/ (without "
                                        f"the trailing slash: /api/oms/pvt/orders/{seeds.SEED_ORDER_ID})")
    status, body = await sim.call("PUT", PLACE.replace("?", "//?"), json=seeds.place_body("other"))
    assert (status, body["error"]["message"]) == (404, "Not found: no route PUT /api/checkout/pvt/orders// (without "
                                                       "the trailing slash: /api/checkout/pvt/orders)")
    for path in ("/api/checkout/pvt/nothing-here/", "/"):  # no route either way: no hint
        status, body = await sim.call("GET", path)
        assert (status, body["error"]["message"]) == (404, f"Not found: no route GET {path}")


async def test_the_journal_shows_a_placement_with_its_order_and_the_reply_as_sent(sim: Sim) -> None:
    async with sim.client.put(PLACE, json=seeds.place_body(), headers=headers("marketplace")) as resp:
        sent = await resp.json()
    await sim.call("PUT", PLACE, json=seeds.place_body("other", items=[{"id": "nope", "quantity": 1, "seller": "1"}]))
    _, journal = await sim.call("GET", f"/_sim/journal?orderId={seeds.SEED_ORDER_ID}", role="admin", expect=200)
    [entry] = journal["entries"]  # found by the order it created, though the route has no {orderId}
    assert (entry["kind"], entry["status"], entry["orderId"]) == ("place-order", 200, seeds.SEED_ORDER_ID)
    assert entry["reply"] == sent and entry["body"] == seeds.place_body()
    _, journal = await sim.call("GET", "/_sim/journal?kind=place-order", role="admin", expect=200)
    refused = journal["entries"][-1]
    assert refused["status"] == 400 and refused["reply"]["error"]["code"] == "ORD006"  # logisticsInfo[1] has no item


async def test_app_tokens_never_reach_the_journal(sim: Sim) -> None:
    await sim.place()
    _, journal = await sim.call("GET", "/_sim/journal", role="admin", expect=200)
    text = json.dumps(journal)
    assert "moisim-marketplace-secret" not in text
    assert journal["entries"][0]["appKey"] == "moisim-marketplace"
    assert headers("marketplace")["X-VTEX-API-AppToken"] not in text


async def test_no_mutated_placement_or_authorization_is_a_500(sim: Sim) -> None:
    """Bodies with one value replaced, removed or added anywhere (the schema tests' mutations),
    through the whole route: every answer is a 200 or a VTEX-shaped 4xx naming a code, never a 5xx,
    and whatever is accepted can be read back and authorized."""
    rng = random.Random("moisim-http-mutations")
    statuses: Counter[int] = Counter()
    for i, body in enumerate(mutations(seeds.place_body("mut"), rng, 400)):
        if isinstance(body, dict) and isinstance(body.get("marketplaceOrderGroup"), str):
            body["marketplaceOrderGroup"] = f"mut{i}"  # each its own order, so duplicates are not what is tested
        status, reply = await sim.call("PUT", "/api/checkout/pvt/orders?sc=1&affiliateId=MKP", data=json.dumps(body))
        statuses[status] += 1
        assert status in (200, 400), (status, reply, body)
        if status == 400:
            assert set(reply) == {"error"} and reply["error"]["code"] and reply["error"]["message"], reply
            continue
        order_id = reply["orders"][0]["orderId"]
        await sim.order(order_id)
        for auth in mutations(seeds.authorization_body(f"mut{i}"), rng, 2):
            status, reply = await sim.call(
                "POST", f"/api/checkout/pvt/orders/{order_id}/receipts/marketplace-order-authorization",
                data=json.dumps(auth))
            assert status in (200, 400), (status, reply, auth)
    assert statuses[200] > 50 and statuses[400] > 200  # both paths were exercised


async def test_whole_numbers_written_with_a_fraction_are_integer_cents(sim: Sim) -> None:
    """JSON Schema (and VTEX) take 12.0 as the integer 12; money stays int cents all the way through."""
    text = json.dumps(seeds.place_body()).replace('"price": 12}', '"price": 12.0}').replace('"quantity": 1,', '"quantity": 1e0,', 1)
    assert '"price": 12.0' in text and "1e0" in text
    status, placed = await sim.call("PUT", PLACE, data=text)
    assert status == 200
    raw = await (await sim.client.get(f"/api/oms/pvt/orders/{seeds.SEED_ORDER_ID}", headers=headers("marketplace"))).text()
    assert '"value":132,' in raw and '"price":12,' in raw and '"quantity":1,' in raw
    order = json.loads(raw)
    assert all(type(t["value"]) is int for t in order["totals"])
    assert order["warnings"] == ["marketplacePaymentValue 1550 differs from the order value 132"]
    status, body = await sim.call("PUT", PLACE, data=text.replace("12.0", "12.5").replace("externalMarketplace10", "half"))
    assert (status, body["error"]["code"]) == (400, "CHK0025")  # a fraction of a cent is still refused


async def test_whole_numbers_in_a_body_in_another_charset_are_integer_cents_too(sim: Sim) -> None:
    text = json.dumps(seeds.place_body()).replace('"price": 120}', '"price": 120.0}')
    async with sim.client.put(PLACE, data=text.encode("utf-16"), headers={
            **headers("marketplace"), "Content-Type": "application/json; charset=utf-16"}) as resp:
        assert resp.status == 200
    raw = await (await sim.client.get(f"/api/oms/pvt/orders/{seeds.SEED_ORDER_ID}", headers=headers("marketplace"))).text()
    assert '"price":120,' in raw and '"value":132,' in raw


def test_free_stock_is_found_by_sku_not_by_reading_every_row() -> None:
    """Without an index on the SKU, each placement read all of the account's stock: with a catalog
    of 20,000 SKUs in two stores, 40,000 rows, and placement fell from ~1450 to ~125 a second."""
    from simulator.store.sqlite import SqliteStore

    store = SqliteStore(":memory:")
    asked: list[str] = []
    store._db.set_trace_callback(asked.append)  # the statement free_stock runs, with its values in it
    store.free_stock("moisim", ["8", "36"])
    store._db.set_trace_callback(None)
    plan = store._db.execute("EXPLAIN QUERY PLAN " + asked[-1]).fetchall()
    store.close()
    assert any("(account=? AND sku=?)" in row[-1] for row in plan), plan


def with_unlisted_sku(group: str, **item: Any) -> dict:
    """The seed's order with its second item (SKU 36, delivery) swapped for SKU ABC-9, in no catalog."""
    body = seeds.place_body(group)
    body["items"][1] = {"id": "ABC-9", "quantity": 2, "seller": "1", "price": 350, **item}
    return body


async def test_an_unlisted_sku_is_refused_by_default_and_leaves_no_stock_behind(sim: Sim) -> None:
    status, body = await sim.call("PUT", PLACE, json=with_unlisted_sku("closed-1"))
    assert (status, body["error"]["code"]) == (400, "ORD027")
    assert "items[1].id is not in the catalog" in body["error"]["message"]
    assert not [s for s in sim.store.stock("moisim") if s["sku"] == "ABC-9"]


async def test_unknown_skus_accept_places_any_sku_at_the_price_sent_with_each_stores_default_stock(make_sim) -> None:
    sim = await make_sim(placement={"unknown-skus": "accept"}, **{"franchise-stores": [
        {"id": "a", "affiliate-id": "FRA", "slas": ["Normal", "Retirada (14b25e5)"], "stock": {"default": 1}},
        {"id": "b", "affiliate-id": "FRB", "slas": ["Normal"], "stock": {"default": 50}},
    ]})
    status, body = await sim.call("PUT", PLACE, json=with_unlisted_sku("open-1"))
    assert status == 200, body
    chain = await sim.order("MKP-open-1-01")
    item = chain["items"][1]
    assert (item["id"], item["name"], item["price"], item["quantity"]) == ("ABC-9", "SKU ABC-9", 350, 2)
    assert item["measurementUnit"] == "un" and item["unitMultiplier"] == 1.0
    assert chain["value"] == 12 + 700
    assert not [w for w in chain["warnings"] if "catalog price" in w]  # the price sent is the price
    # Store a has 1 unit of every SKU it does not list, so the 2 units come from b.
    assert item["fulfillment"]["franchiseStore"] == "b"
    stock = {(s["storeId"], s["sku"]): (s["quantity"], s["reserved"]) for s in sim.store.stock("moisim")}
    assert stock[("a", "ABC-9")] == (1, 0) and stock[("b", "ABC-9")] == (50, 2)
    # The rows stay: the next order of the SKU sees what the first reserved.
    await sim.call("PUT", PLACE, json=with_unlisted_sku("open-2", quantity=48))
    status, body = await sim.call("PUT", PLACE, json=with_unlisted_sku("open-3", quantity=2))
    assert (status, body["error"]["code"]) == (400, "ORD027")


async def test_an_unlisted_sku_needs_its_price(make_sim) -> None:
    sim = await make_sim(placement={"unknown-skus": "accept"})
    body = with_unlisted_sku("open-4")
    del body["items"][1]["price"]
    status, reply = await sim.call("PUT", PLACE, json=body)
    assert (status, reply["error"]["code"]) == (400, "SIM002")
    assert "items[1].price: is required for SKU ABC-9, which is not in the catalog" in reply["error"]["message"]
    assert await sim.call("GET", "/api/oms/pvt/orders/MKP-open-4-01") == (404, {"error": {
        "code": "CHK0201", "message": "Order not found: MKP-open-4-01", "exception": None}})
