"""What the domain, the dispatcher and the control API need from a store, and nothing more."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from enum import Enum
from typing import Any, Iterable, Protocol

from simulator import jsontext
from simulator.domain.orders import Figures, Order


class Kept(str, Enum):
    """A journal text the store already holds: the entry points at it instead of a copy."""

    PLACEMENT = "placement"  # the reply: the chain order's stored place-order response
    DELIVERY = "delivery"  # the body: the outbox delivery's body (the entry's data names deliveryId)


@dataclass(frozen=True, slots=True)
class Listing:
    """A page of orders, how many match in all, and the figures of all that match."""

    orders: list[Order]
    total: int
    value: Figures
    items: Figures


@dataclass(frozen=True, slots=True)
class OrderFilter:
    """Which chain orders a listing selects: the filters of ``GET /api/oms/pvt/orders``. Dates are
    inclusive bounds in :func:`simulator.clock.iso` form; an empty tuple of affiliates selects none."""

    statuses: tuple[str, ...] = ()
    created: tuple[str, str] | None = None
    authorized: tuple[str, str] | None = None  # when the order last entered payment-approved
    invoiced: tuple[str, str] | None = None  # when it last entered invoiced
    affiliate_ids: tuple[str, ...] | None = None  # None: any affiliate
    text: str | None = None  # q: an order id or group, a client's email, document or name
    input_invoice: bool = False  # only orders with a return (Input) invoice
    utm_sources: tuple[str, ...] = ()  # the marketingData.utmSource the marketplace sent
    nothing: bool = False  # a filter no chain order can meet (a payment name, say)

    @property
    def selects_none(self) -> bool:
        """No order can match: a filter none meets, or no affiliate left to list."""
        return self.nothing or self.affiliate_ids == ()


ANY_ORDER = OrderFilter()  # every chain order of the account


@dataclass(slots=True)
class Timer:
    id: int
    account: str
    order_id: str
    event: str
    due_at: float  # epoch seconds on the simulator's clock


@dataclass(slots=True)
class Playback:
    """A scenario bound to an order on a running server: the next step and when it is due."""

    id: int
    account: str
    order_id: str  # the chain order
    scenario: str
    step: int  # index into the scenario's steps
    start_on: str  # the status that starts the timeline
    due_at: float | None  # None until the order reaches start_on


@dataclass(slots=True)
class Delivery:
    """One callback in the outbox: built once, attempted until settled."""

    id: int
    account: str
    order_id: str  # the chain order it concerns
    kind: str  # seller-cancellation | invoice | change
    url: str
    body_text: str  # the JSON body, as stored and as sent
    reply_schema: str | None
    state: str  # pending | delivered | refused | failed
    attempts: int
    next_attempt_at: float
    created_at: float
    ref: str | None = None  # what it is about: an invoice number, a change requestId
    outcome_text: str = "{}"  # last attempt's verdict, JSON
    in_flight: int | None = None  # an attempt that went out and has no verdict yet
    in_flight_at: float | None = None  # when it went out (epoch seconds on the simulator's clock)

    @property
    def body(self) -> dict[str, Any]:
        return jsontext.loads(self.body_text)

    @property
    def outcome(self) -> dict[str, Any]:
        return jsontext.loads(self.outcome_text)


@dataclass(slots=True)
class JournalEntry:
    id: int
    account: str
    at: str
    direction: str  # in | out
    kind: str
    order_id: str | None
    data: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        data = dict(self.data)
        # The text that came from outside (a request's body, a marketplace's reply) is read as outside
        # JSON is: one refused for its depth stays text, or no encoder could write it out again. The
        # other is moisim's own and is not walked: a place-order reply's walk cost 36 us an entry.
        outside = "body" if self.direction == "in" else "reply"
        for key in ("body", "reply"):  # journaled as raw text; shown as JSON where they are JSON
            if isinstance(data.get(key), str):
                try:
                    data[key] = (jsontext.loads_foreign if key == outside else jsontext.loads)(data[key])
                except ValueError:
                    pass
        return {"id": self.id, "at": self.at, "direction": self.direction, "kind": self.kind,
                "orderId": self.order_id, **data}


class Store(Protocol):
    def transaction(self) -> AbstractContextManager[None]: ...
    async def durable(self) -> None:
        """Return once every transaction so far is committed (the server awaits it before replying)."""
    def close(self) -> None: ...

    # orders
    def get_order(self, account: str, order_id: str) -> Order | None: ...
    def get_order_by_sequence(self, account: str, sequence: int) -> Order | None: ...
    def save_order(self, order: Order, placement: bytes | None = None, *, new: bool = False) -> None: ...
    def orders_in_group(self, account: str, order_group: str) -> list[Order]: ...
    def list_orders(self, account: str, where: OrderFilter = ANY_ORDER, *, descending: bool = True,
                    order_by: str = "creationDate", limit: int = 15, offset: int = 0) -> Listing: ...
    async def list_orders_off_loop(self, account: str, where: OrderFilter = ANY_ORDER, *, descending: bool = True,
                                   order_by: str = "creationDate", limit: int = 15, offset: int = 0) -> Listing:
        """``list_orders`` of what is committed, read where it does not hold up the event loop."""
    def next_sequence(self, account: str, series: str = "orders") -> int:
        """The next number of a series of the account (order sequence numbers, move numbers)."""
    def get_placement(self, account: str, order_id: str) -> str | None:
        """The place-order response kept with a chain order."""

    def get_meta(self, key: str) -> str | None: ...
    def set_meta(self, key: str, value: str) -> None: ...

    # stock
    def seed_stock(self, account: str, rows: Iterable[tuple[str, str, int]]) -> None: ...
    def free_stock(self, account: str, skus: Iterable[str]) -> dict[tuple[str, str], int]: ...
    def available(self, account: str, store_id: str, sku: str) -> int: ...
    def move_stock(self, account: str, store_id: str, sku: str, *, reserved: int = 0, quantity: int = 0) -> None: ...
    def move_stocks(self, account: str, moves: Iterable[tuple[str, str, int, int]]) -> None: ...
    def stock(self, account: str) -> list[dict[str, Any]]: ...

    # timers
    def add_timer(self, account: str, order_id: str, event: str, due_at: float) -> None: ...
    def clear_timers(self, account: str, order_id: str) -> None: ...
    def due_timers(self, now: float, at_most: int) -> list[Timer]: ...  # oldest first
    def delete_timer(self, timer_id: int) -> None: ...
    def next_timer_at(self) -> float | None: ...
    def count_due_timers(self, now: float) -> int: ...

    # scenario playback
    def add_playback(self, account: str, order_id: str, scenario: str, step: int, start_on: str) -> None: ...
    def playbacks_of(self, account: str, order_id: str) -> list[Playback]: ...
    def due_playbacks(self, now: float) -> list[Playback]: ...
    def next_playback_at(self) -> float | None: ...
    def move_playback(self, playback_id: int, step: int, due_at: float | None) -> None: ...
    def delete_playback(self, playback_id: int) -> None: ...

    # outbox
    def enqueue(self, account: str, order_id: str, kind: str, url: str, body: dict, reply_schema: str | None,
                now: float, ref: str | None = None) -> int: ...
    def ready_deliveries(self, now: float, exclude_orders: Iterable[tuple[str, str]] = (), limit: int = 100) -> list[Delivery]: ...
    def next_delivery_at(self) -> float | None: ...
    def settle_attempt(self, delivery_id: int, *, state: str, attempts: int, next_attempt_at: float,
                       outcome: dict[str, Any]) -> None: ...
    def deliveries(self, account: str, order_id: str | None = None) -> list[Delivery]: ...
    def pending_count(self) -> int: ...
    def mark_in_flight(self, attempts: Iterable[tuple[int, int]], at: float) -> None: ...
    def interrupted(self) -> list[Delivery]: ...

    # journal
    def journal_add(self, account: str, at: str, direction: str, kind: str, order_id: str | None, data: dict, *,
                    body: str | Kept | None = None, reply: str | Kept | None = None) -> None: ...
    def journal(self, account: str, *, order_id: str | None = None, direction: str | None = None,
                kind: str | None = None, since: str | None = None, after: int = 0,
                limit: int = 100) -> list[JournalEntry]:
        """Entries in id order, those with ids above ``after`` (the last of the page before)."""
