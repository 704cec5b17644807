"""Routing a chain order's items to the franchise stores (level 3) that can fulfil them.

A store can take an item when it offers the item's SLA and has the units free. One store that
can take every item gets the whole order (fewer franchise orders, fewer parcels); otherwise each
item goes to the first store, in configuration order, that can take it.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Callable, Sequence

from simulator.config import FranchiseStore
from simulator.domain.errors import BadRequest

Line = tuple[str, int, str]  # (sku, quantity, sla id)
Available = Callable[[str, str], int]  # (store id, sku) -> free units


def route(lines: Sequence[Line], stores: Sequence[FranchiseStore], available: Available) -> list[str]:
    """The store id for each line; raises ORD027 for a line no store can take."""
    for store in stores:
        if _can_take(store, lines, available):
            return [store.id] * len(lines)
    chosen: list[str] = []
    taken: dict[tuple[str, str], int] = defaultdict(int)
    for index, (sku, quantity, sla) in enumerate(lines):
        for store in stores:
            if sla in store.slas and available(store.id, sku) - taken[(store.id, sku)] >= quantity:
                chosen.append(store.id)
                taken[(store.id, sku)] += quantity
                break
        else:
            free = sum(available(s.id, sku) for s in stores if sla in s.slas)
            raise BadRequest(
                "ORD027",
                f"Item {sku} not found or unavailable: items[{index}] asks for {quantity} unit(s) with SLA "
                f"{sla!r}, and the franchise stores offering that SLA have {free} free",
            )
    return chosen


def _can_take(store: FranchiseStore, lines: Sequence[Line], available: Available) -> bool:
    wanted: dict[str, int] = defaultdict(int)
    for sku, quantity, sla in lines:
        if sla not in store.slas:
            return False
        wanted[sku] += quantity
    return all(available(store.id, sku) >= qty for sku, qty in wanted.items())
