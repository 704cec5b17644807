"""The place-order response's repeating parts, kept as encoded JSON from order to order.

The response is 8.5 KB of Checkout's shape for the seed's two items, and most of it repeats:
SKU 8 at 12.00 from franchise store A reads the same in every order but for the order id in its
``uniqueId`` and ``lockId``; its logistics entry and metadata, the totals, the sellers and the
store's preferences read the same outright. Building those dicts and encoding them was the
largest single step of a placement (45 of about 320 µs in-process). ``EncodedParts`` keeps each
part's JSON text by what it is built from (the item's every field, its index) and hands it to
orjson as a ``Fragment``, so a placement builds only what is its own: ids, dates, client,
addresses.

A part is kept the second time it is asked for. Keeping costs more than building: where nothing
repeats (every order's quantities its own, a catalog of thousands of SKUs), keeping every part
made a response 76 µs against the reference's 51. Seen once, a part is built as a dict, as the
reference does, and only its key's hash is remembered: 56 µs against 53 where nothing repeats,
23 where everything does.

The text kept is what ``render.Parts`` builds, encoded, and the response is byte for byte the
reference's (tests/test_encoded_parts.py compares them). What orjson cannot write (an integer
past 64 bits, a lone surrogate) takes the reference path, as every other document does.
"""

from __future__ import annotations

import operator
import secrets
from typing import Any

import orjson

from simulator import jsontext
from simulator.config import Config
from simulator.domain import render
from simulator.domain.orders import Item, Order

# An item's every field, in one tuple: what its parts are built from. A field added to Item is in
# the key without anyone having to remember it.
_ITEM_FIELDS = operator.attrgetter(*Item.__slots__)
# Parts kept at most (2.1 KB a part on average, its key included, measured with the seed's items:
# about 5 MB in all). Past it the cache starts again: a catalog of thousands of SKUs, or quantities
# that never repeat, must not grow the process.
LIMIT = 2048


def _encoded(value: Any) -> bytes:
    """``value`` as JSON, to keep. orjson hands back its working buffer, 4 KB however short the
    text; the copy holds the text alone (an item's kept parts took 15 KB instead of about 2)."""
    return bytes(memoryview(orjson.dumps(value)))


class EncodedParts(render.Parts):
    """``render.Parts`` as JSON text kept from earlier orders: one per configuration."""

    def __init__(self, config: Config, limit: int = LIMIT) -> None:
        super().__init__(config)
        self.limit = limit
        self._kept: dict[tuple[Any, ...], Any] = {}  # JSON text, wrapped in a Fragment as it is used
        self._seen: set[int] = set()  # the hashes of the keys asked for once
        # Stands for the order id in an item's kept text, to be replaced by each order's own. It is
        # random, so no data a marketplace sends holds it; should some, that item is not kept.
        self._stand_in = f"moisim-order-id-{secrets.token_hex(16)}"
        self._stand_in_bytes = self._stand_in.encode()
        self._fixed = {name: orjson.Fragment(_encoded(build(config))) for name, build in render.CHECKOUT_FIXED.items()}

    @property
    def kept(self) -> int:
        """How many parts are kept."""
        return len(self._kept)

    def _first_time(self, key: tuple[Any, ...]) -> bool:
        """Whether ``key`` is asked for the first time (since the last ``limit`` first times)."""
        seen = hash(key)
        if seen in self._seen:
            return False
        if len(self._seen) >= self.limit:
            self._seen.clear()
        self._seen.add(seen)
        return True

    def _keep(self, key: tuple[Any, ...], value: Any) -> Any:
        if len(self._kept) >= self.limit:
            self._kept.clear()
        self._kept[key] = value
        return value

    def item(self, item: Item, index: int, order_id: str, estimate: str | None) -> tuple[Any, Any, Any]:
        fields = orjson.dumps(_ITEM_FIELDS(item))  # bytes, not the tuple: 1 and 1.0 are one key in a dict
        key = ("item", index, estimate, fields)
        kept = self._kept.get(key)
        if kept is None:
            if self._first_time(key) or self._stand_in_bytes in fields:
                return super().item(item, index, order_id, estimate)
            shown, logistics, metadata = super().item(item, index, self._stand_in, estimate)
            kept = self._keep(("item", index, estimate, bytes(memoryview(fields))),
                              (orjson.dumps(shown).split(self._stand_in_bytes), _encoded(logistics), _encoded(metadata)))
        pieces, logistics, metadata = kept
        # The order id as it reads inside a JSON string, where the stand-in was.
        return (orjson.Fragment(orjson.dumps(order_id)[1:-1].join(pieces)), orjson.Fragment(logistics),
                orjson.Fragment(metadata))

    def totals(self, order: Order) -> Any:
        figures = orjson.dumps([order.items_total, order.discount, order.shipping_total, order.increment])
        kept = self._kept.get(("totals", figures))
        if kept is None:
            if self._first_time(("totals", figures)):
                return super().totals(order)
            kept = self._keep(("totals", bytes(memoryview(figures))), _encoded(super().totals(order)))
        return orjson.Fragment(kept)

    def fixed(self, name: str) -> Any:
        return self._fixed[name]


def place_order_bytes(chain: Order, parts: render.Parts) -> bytes:
    """The place-order response as UTF-8 JSON, from ``parts``."""
    try:
        return orjson.dumps(render.place_order_response(chain, parts.config, parts))
    except TypeError:  # a value orjson cannot write (nothing of it was kept): the reference path
        return jsontext.dumps_bytes(render.place_order_response(chain, parts.config))
