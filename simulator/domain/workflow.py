"""The chain and franchise workflows as one declarative table.

``TRANSITIONS[(kind, state, event)] = Transition(next_state, effects)``: nothing else in the
code decides where an order goes next. The order service looks a move up here, records it with
its time, and carries out the effects it names. ``PREVIOUS`` as a next state means "the state
the order was in before its current one" (a denied cancellation request returns there).

Chain order (level 2, seen by the marketplace)::

    waiting-for-mkt-authorization --authorize--> payment-approved --invoice-full--> invoiced
    payment-approved --cancel-request--> waiting-for-seller-decision --accept--> canceled
                                                                    --deny----> payment-approved

Franchise order (level 3)::

    order-accepted -> waiting-ffmt-authorization -> window-to-cancel (30 min)
        -> ready-for-handling -> handling -> invoiced
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    CHAIN = "chain"
    FRANCHISE = "franchise"


class Status(StrEnum):
    ORDER_ACCEPTED = "order-accepted"
    WAITING_FOR_MKT_AUTHORIZATION = "waiting-for-mkt-authorization"
    WAITING_FFMT_AUTHORIZATION = "waiting-ffmt-authorization"
    PAYMENT_APPROVED = "payment-approved"
    WINDOW_TO_CANCEL = "window-to-cancel"
    READY_FOR_HANDLING = "ready-for-handling"
    HANDLING = "handling"
    INVOICED = "invoiced"
    WAITING_FOR_SELLER_DECISION = "waiting-for-seller-decision"
    CANCELLATION_REQUESTED = "cancellation-requested"
    CANCELED = "canceled"


class Event(StrEnum):
    PLACE = "place"
    ACCEPT = "accept"  # the franchise store takes the order it was sent
    AUTHORIZE = "authorize"  # the marketplace's authorization reaches the order
    WINDOW_END = "window-end"  # timer: the cancellation window closed
    START_HANDLING = "start-handling"
    INVOICE_FULL = "invoice-full"  # output invoices now add up to the order value
    CANCEL = "cancel"  # a cancellation that takes effect at once
    CANCEL_REQUEST = "cancel-request"  # a cancellation that waits for the seller
    CANCEL_ACCEPT = "cancel-accept"
    CANCEL_DENY = "cancel-deny"
    SELLER_CANCEL = "seller-cancel"
    AUTHORIZATION_TIMEOUT = "authorization-timeout"  # timer: no authorization in time
    DECISION_TIMEOUT = "decision-timeout"  # timer: the seller never decided


class Effect(StrEnum):
    RELEASE_STOCK = "release-stock"
    COMMIT_STOCK = "commit-stock"
    NOTIFY_SELLER_CANCELLATION = "notify-seller-cancellation"
    SCHEDULE_AUTHORIZATION_TIMEOUT = "schedule-authorization-timeout"
    SCHEDULE_WINDOW_END = "schedule-window-end"
    SCHEDULE_DECISION_TIMEOUT = "schedule-decision-timeout"
    CLEAR_TIMERS = "clear-timers"
    RECORD_CANCELLATION = "record-cancellation"
    PROMISE_SHIPPING = "promise-shipping"  # each item's shippingEstimateDate, fixed at confirmation


PREVIOUS = "<previous>"
FINAL = frozenset({Status.INVOICED, Status.CANCELED})


@dataclass(frozen=True, slots=True)
class Transition:
    next: str
    effects: tuple[Effect, ...] = ()
    # What the chain order's move does to each of its franchise orders, if anything.
    cascade: Event | None = None


S, E, F = Status, Event, Effect
# Stock lives with the franchise orders: the chain's cancellations release it by cascading.
_CANCELED = (F.CLEAR_TIMERS, F.RECORD_CANCELLATION)
_SELLER_CANCELED = _CANCELED + (F.NOTIFY_SELLER_CANCELLATION,)

CHAIN: dict[tuple[str | None, Event], Transition] = {
    (None, E.PLACE): Transition(S.WAITING_FOR_MKT_AUTHORIZATION, (F.SCHEDULE_AUTHORIZATION_TIMEOUT,)),
    (S.WAITING_FOR_MKT_AUTHORIZATION, E.AUTHORIZE): Transition(S.PAYMENT_APPROVED, (F.CLEAR_TIMERS, F.PROMISE_SHIPPING),
                                                               E.AUTHORIZE),
    (S.WAITING_FOR_MKT_AUTHORIZATION, E.CANCEL): Transition(S.CANCELED, _CANCELED, E.CANCEL),
    (S.WAITING_FOR_MKT_AUTHORIZATION, E.SELLER_CANCEL): Transition(S.CANCELED, _SELLER_CANCELED, E.SELLER_CANCEL),
    (S.WAITING_FOR_MKT_AUTHORIZATION, E.AUTHORIZATION_TIMEOUT): Transition(S.CANCELED, _SELLER_CANCELED, E.SELLER_CANCEL),
    (S.PAYMENT_APPROVED, E.CANCEL): Transition(S.CANCELED, _CANCELED, E.CANCEL),
    (S.PAYMENT_APPROVED, E.CANCEL_REQUEST): Transition(S.WAITING_FOR_SELLER_DECISION, (F.SCHEDULE_DECISION_TIMEOUT,), E.CANCEL_REQUEST),
    (S.PAYMENT_APPROVED, E.SELLER_CANCEL): Transition(S.CANCELED, _SELLER_CANCELED, E.SELLER_CANCEL),
    (S.PAYMENT_APPROVED, E.INVOICE_FULL): Transition(S.INVOICED, (F.CLEAR_TIMERS,), E.INVOICE_FULL),
    (S.WAITING_FOR_SELLER_DECISION, E.CANCEL_ACCEPT): Transition(S.CANCELED, _SELLER_CANCELED, E.CANCEL_ACCEPT),
    (S.WAITING_FOR_SELLER_DECISION, E.SELLER_CANCEL): Transition(S.CANCELED, _SELLER_CANCELED, E.CANCEL_ACCEPT),
    (S.WAITING_FOR_SELLER_DECISION, E.DECISION_TIMEOUT): Transition(S.CANCELED, _SELLER_CANCELED, E.CANCEL_ACCEPT),
    # Denied by the seller, or by an invoice sent while the request waits: invoicing is how VTEX
    # sellers refuse one ("To continue with this order, simply enter the invoice"), and the
    # service declines the request before it records the invoice.
    (S.WAITING_FOR_SELLER_DECISION, E.CANCEL_DENY): Transition(S.PAYMENT_APPROVED, (F.CLEAR_TIMERS,), E.CANCEL_DENY),
}

_F_CANCELED = (F.CLEAR_TIMERS, F.RELEASE_STOCK)
_HANDLING_STATES = (S.READY_FOR_HANDLING, S.HANDLING)

FRANCHISE: dict[tuple[str | None, Event], Transition] = {
    (None, E.PLACE): Transition(S.ORDER_ACCEPTED),
    (S.ORDER_ACCEPTED, E.ACCEPT): Transition(S.WAITING_FFMT_AUTHORIZATION),
    (S.WAITING_FFMT_AUTHORIZATION, E.AUTHORIZE): Transition(S.WINDOW_TO_CANCEL, (F.SCHEDULE_WINDOW_END, F.PROMISE_SHIPPING)),
    (S.WINDOW_TO_CANCEL, E.WINDOW_END): Transition(S.READY_FOR_HANDLING, (F.CLEAR_TIMERS,)),
    (S.READY_FOR_HANDLING, E.START_HANDLING): Transition(S.HANDLING),
    **{(s, E.INVOICE_FULL): Transition(S.INVOICED, (F.COMMIT_STOCK,)) for s in _HANDLING_STATES},
    **{(s, E.CANCEL): Transition(S.CANCELED, _F_CANCELED)
       for s in (S.ORDER_ACCEPTED, S.WAITING_FFMT_AUTHORIZATION, S.WINDOW_TO_CANCEL)},
    **{(s, E.CANCEL_REQUEST): Transition(S.CANCELLATION_REQUESTED) for s in _HANDLING_STATES},
    (S.CANCELLATION_REQUESTED, E.CANCEL_ACCEPT): Transition(S.CANCELED, _F_CANCELED),
    (S.CANCELLATION_REQUESTED, E.CANCEL_DENY): Transition(PREVIOUS),
    **{(s, E.SELLER_CANCEL): Transition(S.CANCELED, _F_CANCELED)
       for s in (S.ORDER_ACCEPTED, S.WAITING_FFMT_AUTHORIZATION, S.WINDOW_TO_CANCEL,
                 S.READY_FOR_HANDLING, S.HANDLING, S.CANCELLATION_REQUESTED)},
}

TABLES: dict[Kind, dict[tuple[str | None, Event], Transition]] = {Kind.CHAIN: CHAIN, Kind.FRANCHISE: FRANCHISE}


def lookup(kind: Kind, state: str | None, event: Event) -> Transition | None:
    return TABLES[kind].get((state, event))


def allows(kind: Kind, state: str | None, event: Event) -> bool:
    return (state, event) in TABLES[kind]


def all_statuses() -> list[str]:
    seen: dict[str, None] = {}
    for table in TABLES.values():
        for (state, _), move in table.items():
            for s in (state, move.next):
                if s is not None and s != PREVIOUS:
                    seen[str(s)] = None
    return list(seen)
