"""The place-order response built from parts kept encoded (simulator/domain/encoded_parts.py) is,
byte for byte, the reference built as dicts (render.place_order_response), order after order."""

from __future__ import annotations

import copy
import tracemalloc
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from simulator import jsontext
from simulator.clock import VirtualClock
from simulator.config import load_config
from simulator.domain import render
from simulator.domain.encoded_parts import EncodedParts, place_order_bytes
from simulator.domain.orders import Order
from simulator.domain.service import OrderService
from simulator.http.app import open_store
from tests import seeds

ENDPOINT = "http://127.0.0.1:9/mkp"


@pytest.fixture
def service() -> OrderService:
    config = replace(load_config(None), store_path=":memory:")
    return OrderService(config, open_store(config), VirtualClock(datetime(2026, 11, 23, 12, 0, tzinfo=UTC)))


def reference(chain: Order, service: OrderService) -> bytes:
    return jsontext.dumps_bytes(render.place_order_response(chain, service.config))


def check(chain: Order, service: OrderService) -> bytes:
    """The response three times: built (a part's first time), kept, reused; each the reference's."""
    expected = reference(chain, service)
    for _ in range(3):
        assert place_order_bytes(chain, service.response_parts) == expected
    return expected


def place(service: OrderService, group: str, **changes: object) -> tuple[bytes, Order]:
    placed = service.place("moisim", "MKP", "1", seeds.place_body(group, ENDPOINT, **changes))
    chain = service.store.get_order("moisim", placed.order_id)
    assert chain is not None
    return placed.response, chain


def test_orders_placed_one_after_another_answer_the_reference_and_reuse_the_parts(
        service: OrderService, monkeypatch: pytest.MonkeyPatch) -> None:
    for group in ("g1", "g2"):  # asked for once, a part is built; asked for again, kept
        response, chain = place(service, group)
        assert response == reference(chain, service)
    kept = service.response_parts.kept
    assert kept == 3  # two items and the totals
    built: list[str] = []
    for name in ("checkout_item_json", "logistics_info", "totals"):
        real = getattr(render, name)
        monkeypatch.setattr(render, name, lambda *args, _real=real, _name=name: built.append(_name) or _real(*args))
    for group in ("g3", "g4"):
        response, chain = place(service, group)
        assert response == reference(chain, service)
        assert chain.id.encode() in response and b'"uniqueId":"MKP-' + group.encode() + b'-01-0"' in response
    # Only the reference built them: two orders of two items.
    assert Counter(built) == {"checkout_item_json": 4, "logistics_info": 4, "totals": 2}
    assert service.response_parts.kept == kept  # the same items: nothing new kept


def test_a_part_asked_for_once_is_not_kept(service: OrderService) -> None:
    _, chain = place(service, "g1")
    parts = EncodedParts(service.config)
    for quantity in range(1, 20):  # nothing repeats
        chain.items[0].quantity = chain.items[1].quantity = quantity
        assert place_order_bytes(chain, parts) == reference(chain, service)
    assert parts.kept == 0
    assert place_order_bytes(chain, parts) == reference(chain, service)  # the last order's, again
    assert parts.kept == 3


def test_items_the_marketplace_gave_fields_for_answer_the_reference(service: OrderService) -> None:
    body = seeds.place_body("gifts", ENDPOINT)
    body["items"][0].update(isGift=True, attachments=[{"name": "note", "content": {"text": "parabéns"}}])
    body["items"].append(dict(body["items"][0]))  # the same SKU again: one more index
    body["shippingData"]["logisticsInfo"].append({**body["shippingData"]["logisticsInfo"][0], "itemIndex": 2})
    for group in ("gifts", "gifts-again", "gifts-once-more"):
        body["marketplaceOrderGroup"] = group
        placed = service.place("moisim", "MKP", "1", copy.deepcopy(body))
        chain = service.store.get_order("moisim", placed.order_id)
        assert chain is not None and len(chain.items) == 3
        assert placed.response == reference(chain, service)


def test_an_authorized_order_its_dates_and_any_order_id_answer_the_reference(service: OrderService) -> None:
    _, chain = place(service, "g1")
    service.authorize("moisim", chain.id, seeds.authorization_body("g1"))
    authorized = service.store.get_order("moisim", chain.id)
    assert authorized is not None and all(item.shipping_estimate_date for item in authorized.items)
    check(authorized, service)
    for item in authorized.items:
        item.shipping_estimate_date = None  # as an older moisim stored it: the item reads as placed, its estimate not
    check(authorized, service)
    authorized.id = 'MKP-"quoted" \\ é \u2028-01'  # written escaped wherever the id is in a string
    check(authorized, service)


def test_a_number_is_kept_with_its_type(service: OrderService) -> None:
    _, chain = place(service, "g1")
    for multiplier in (1, 1.0, True):
        chain.items[0].unit_multiplier = multiplier  # type: ignore[assignment]
        check(chain, service)


def test_the_totals_follow_discounts_and_increments(service: OrderService) -> None:
    _, chain = place(service, "g1")
    for discount, increment in ((0, 0), (5, 0), (5, 7), (0, 7)):
        chain.discount, chain.increment = discount, increment
        check(chain, service)


def test_an_item_whose_data_holds_the_stand_in_is_answered_and_not_kept(service: OrderService) -> None:
    _, chain = place(service, "g1")
    parts = service.response_parts
    chain.items[0].name = f"a name with {parts._stand_in} in it"
    check(chain, service)
    items = [key for key in parts._kept if key[0] == "item"]
    assert len(items) == 1 and parts._stand_in_bytes not in items[0][-1]  # the other item only


def test_what_orjson_cannot_write_takes_the_reference_path(service: OrderService) -> None:
    _, chain = place(service, "g1")
    chain.items[0].sent = {"commission": 2**70}  # past 64 bits: the standard library writes it
    assert b'"commission":1180591620717411303424' in check(chain, service)
    chain.client_profile["firstName"] = "\ud800"  # a lone surrogate: escaped
    check(chain, service)


def test_the_parts_kept_are_bounded(service: OrderService) -> None:
    parts = EncodedParts(service.config, limit=3)
    _, chain = place(service, "g1")
    for quantity in [q for q in range(1, 12) for _ in range(2)]:
        chain.items[0].quantity = quantity  # a new key, asked for twice
        assert place_order_bytes(chain, parts) == reference(chain, service)
        assert parts.kept <= 3 and len(parts._seen) <= 3


def test_a_kept_part_holds_its_text_alone(service: OrderService) -> None:
    """orjson answers in a 4 KB buffer however short the text: kept as it is, an item's parts
    took 15 KB instead of about 2.5 (their key included)."""
    _, chain = place(service, "g1")
    parts = EncodedParts(service.config, limit=10_000)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for quantity in [q for q in range(1, 201) for _ in range(2)]:
            chain.items[0].quantity = chain.items[1].quantity = quantity
            place_order_bytes(chain, parts)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert parts.kept == 600  # two items and the totals, for each quantity
    assert grown / parts.kept < 3072  # 2.1 KB a part on average; 3.5 KB with a single key kept as orjson wrote it
