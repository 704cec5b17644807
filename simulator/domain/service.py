"""The order service: every operation on chain and franchise orders, as plain Python.

Each public method runs in one store transaction: the orders it changes, the stock it moves,
the timers it sets and the callbacks it queues commit together or not at all. Moves between
statuses come only from the workflow table (``workflow.lookup``); this module carries out the
effects the table names. Time comes from the injected clock.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable

from simulator.clock import Clock, iso
from simulator.config import Config
from simulator.domain import changes, invoices, placement, render, routing
from simulator.domain.encoded_parts import EncodedParts, place_order_bytes
from simulator.domain.errors import BadRequest, NotFound, cannot_cancel, order_not_found, wrong_status
from simulator.domain.orders import Item, Order, Transition
from simulator.domain.shipping import promised_date
from simulator.domain.workflow import FINAL, PREVIOUS, Effect, Event, Kind, Status, allows, lookup
from simulator.outbox import callbacks
from simulator.store.base import Store

Listener = Callable[[str, Order, dict[str, Any]], None]
# An order's sequence is "a six-digit string" in VTEX's Orders API, whose examples number from
# 500838 to 502531: an account's first order is 500001. (Orders of a store written before
# this keep their numbers; the series goes on from 500000 past the last.)
SEQUENCE_BASE = 500_000
# "seq501456": an order's sequence number, for GET /api/oms/pvt/orders/{orderId}. No order id
# matches it (every one has a "-"); 18 digits at most, inside SQLite's 64-bit integers.
SEQUENCE_REFERENCE = re.compile(r"seq([0-9]{1,18})")


def timeline(orders: list[Order]) -> list[dict[str, Any]]:
    """Every move of these orders, in the order it was made."""
    moves = sorted(((t, o.id) for o in orders for t in o.timeline), key=lambda m: (m[0].n, m[0].at))
    return [{"orderId": order_id, "from": t.from_status, "to": t.to_status, "event": t.event, "at": iso(t.at)}
            for t, order_id in moves]


def new_receipt() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True, slots=True)
class Placed:
    """A placement's chain order id and the place-order response (UTF-8 JSON), the very bytes a
    duplicate placement replays."""

    order_id: str
    response: bytes


@dataclass
class Context:
    """Who caused a move and why: recorded with cancellations."""

    reason: str | None = None
    by_user: bool = False
    by_system: bool = False
    by_seller: bool = False
    changed: dict[str, Order] = field(default_factory=dict)


class OrderService:
    def __init__(self, config: Config, store: Store, clock: Clock) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.listeners: list[Listener] = []  # told of every status move (scenario bindings use it)
        self.response_parts = EncodedParts(config)  # the place-order response's repeating parts, kept encoded

    # --- helpers -------------------------------------------------------------------------
    def now(self) -> datetime:
        return self.clock.now()

    def order(self, account: str, order_id: str) -> Order:
        order = self.store.get_order(account, order_id)
        if order is None:
            raise order_not_found(order_id)
        return order

    def order_by_reference(self, account: str, reference: str) -> Order:
        """An order by its id or, as VTEX's Get order allows, by ``seq`` and its sequence number."""
        sequence = SEQUENCE_REFERENCE.fullmatch(reference)
        if sequence is None:
            return self.order(account, reference)
        order = self.store.get_order_by_sequence(account, int(sequence[1]))
        if order is None:
            raise order_not_found(reference)
        return order

    def chain_of(self, order: Order) -> Order:
        return order if order.kind is Kind.CHAIN else self.order(order.account, order.parent_id or "")

    def franchise_orders(self, chain: Order) -> list[Order]:
        return [self.order(chain.account, fid) for fid in chain.franchise_ids]

    def inspect(self, account: str, reference: str) -> dict[str, Any]:
        """The chain order (from its own id, a franchise order's, or either one's ``seq{n}``), its
        franchise orders, the status timeline and its callbacks with each one's last attempt:
        ``GET /_sim/orders/{id}``."""
        chain = self.chain_of(self.order_by_reference(account, reference))
        franchises = self.franchise_orders(chain)
        return {
            "chainOrder": render.order_json(chain, self.config),
            "franchiseOrders": [render.order_json(f, self.config) for f in franchises],
            "timeline": timeline([chain, *franchises]),
            "changes": chain.changes,
            "callbacks": [{"id": d.id, "kind": d.kind, "url": d.url, "body": d.body, "state": d.state,
                           "attempts": d.attempts, "ref": d.ref, "lastAttempt": d.outcome or None}
                          for d in self.store.deliveries(account, chain.id)],
        }

    def receipt(self, order_id: str, at: datetime | None = None) -> dict[str, Any]:
        return {"date": iso(at or self.now()), "orderId": order_id, "receipt": new_receipt()}

    # --- placement -----------------------------------------------------------------------
    def place(self, account: str, affiliate: str | None, channel: str | None, body: dict[str, Any]) -> Placed:
        """Place a chain order: its id and the Checkout place-order response (UTF-8 JSON bytes)."""
        cfg = self.config
        affiliate_id, sales_channel = placement.check_channel(cfg, affiliate, channel)
        placement.check_endpoint(body["marketplaceServicesEndpoint"])
        lines = placement.check_items(cfg, body)
        group = body["marketplaceOrderGroup"]

        chain_id = placement.chain_order_id(affiliate_id, group)
        existing = self.store.get_order(account, chain_id)
        if existing is not None:
            if existing.status == Status.CANCELED:
                raise BadRequest("FMT0060", f"The request order with marketplace order id {group} for affiliate "
                                            f"{affiliate_id} is already canceled and cannot be recreated")
            if cfg.duplicates == "replay":
                replay = self.store.get_placement(account, chain_id)
                if replay is not None:
                    return Placed(existing.id, replay.encode())
            raise BadRequest("FMT009", f"The request order with marketplace order id {group} for affiliate "
                                       f"{affiliate_id} already exists")

        now = self.now()
        with self.store.transaction():
            self._stock_unlisted(account, [line.sku for line in lines if not line.listed])
            free = self.store.free_stock(account, [line.sku for line in lines])
            stores = routing.route(
                [(line.sku, line.quantity, line.sla) for line in lines],
                cfg.franchise_stores,
                lambda store_id, sku: free.get((store_id, sku), 0),
            )
            items = [line.item(store_id) for line, store_id in zip(lines, stores, strict=True)]
            chain = self._new_order(account, Kind.CHAIN, chain_id, affiliate_id, sales_channel, body, items, now)
            self._move(chain, Event.PLACE, now, Context())  # the chain order exists before it orders from level 3
            chain.warnings = [w for line in lines for w in line.warnings]
            if chain.value != body["marketplacePaymentValue"]:
                chain.warnings.append(
                    f"marketplacePaymentValue {body['marketplacePaymentValue']} differs from the order value {chain.value}")
            by_store: dict[str, list[Item]] = {}
            for item in items:
                by_store.setdefault(item.store_id, []).append(item)
            for store in cfg.franchise_stores:  # in configuration order: franchise ids keep a stable order
                store_items = by_store.get(store.id)
                if not store_items:
                    continue
                franchise = self._new_order(account, Kind.FRANCHISE, f"{store.affiliate_id}-{chain_id}", affiliate_id,
                                            sales_channel, body, store_items, now)
                franchise.parent_id, franchise.store_id = chain_id, store.id
                self.store.move_stocks(account, [(store.id, item.id, item.quantity, 0) for item in store_items])
                chain.franchise_ids.append(franchise.id)
                ctx = Context()
                self._move(franchise, Event.PLACE, now, ctx)
                self._move(franchise, Event.ACCEPT, now, ctx)
                self.store.save_order(franchise, new=True)
            response = place_order_bytes(chain, self.response_parts)
            self.store.save_order(chain, placement=response, new=True)
        return Placed(chain_id, response)

    def _new_order(self, account: str, kind: Kind, order_id: str, affiliate_id: str, sales_channel: str,
                   body: dict[str, Any], items: list[Item], now: datetime) -> Order:
        return Order(
            account=account, id=order_id, kind=kind, order_group=order_id.rsplit("-", 1)[0], status=None,
            sequence=SEQUENCE_BASE + self.store.next_sequence(account), affiliate_id=affiliate_id,
            sales_channel=sales_channel,
            marketplace_order_group=body["marketplaceOrderGroup"],
            marketplace_services_endpoint=body["marketplaceServicesEndpoint"],
            marketplace_payment_value=body["marketplacePaymentValue"], creation_date=now, last_change=now,
            items=items, client_profile=dict(body["clientProfileData"]), shipping_data=dict(body["shippingData"]),
            marketing_data=body.get("marketingData"),
            open_text_field=body.get("openTextField"),
        )

    # --- marketplace authorization -------------------------------------------------------
    def authorize(self, account: str, order_id: str, body: dict[str, Any]) -> dict[str, Any]:
        chain = self.order(account, order_id)
        if chain.kind is not Kind.CHAIN:
            raise BadRequest("CHK0092", f"Order {order_id} is a franchise order: the marketplace authorizes the chain "
                                        f"order {chain.parent_id}")
        if body["marketplaceOrderGroup"] != chain.marketplace_order_group:
            raise BadRequest("CHK0144", f"Invalid marketplace order group: marketplaceOrderGroup "
                                        f"{body['marketplaceOrderGroup']!r} is not this order's "
                                        f"({chain.marketplace_order_group!r})")
        if chain.authorization is not None:
            return chain.authorization["response"]  # a repeat (a retrying marketplace) gets the same answer
        if not allows(Kind.CHAIN, chain.status, Event.AUTHORIZE):
            raise BadRequest("CHK0242", f"Order {order_id} is in a invalid state to approve payment: {chain.status}")
        now = self.now()
        with self.store.transaction():
            self._move(chain, Event.AUTHORIZE, now, Context())  # fixes each item's shippingEstimateDate
            response = render.authorization_response(chain, now, new_receipt())
            chain.authorization = {"receipt": body["authorizationReceipt"], "items": body.get("items"), "response": response}
            self.store.save_order(chain)
        return response

    # --- cancellation --------------------------------------------------------------------
    def request_cancellation(self, account: str, order_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """The marketplace's cancel: at once inside the window, else it waits for the seller."""
        chain = self.chain_of(self.order(account, order_id))
        self._refuse_if_invoiced(chain, order_id)
        now = self.now()
        if chain.status in (Status.CANCELED, Status.WAITING_FOR_SELLER_DECISION):
            return self.receipt(order_id, now)  # already done or already asked: answered, nothing changes
        franchises = self.franchise_orders(chain)
        reason = (body or {}).get("reason")
        ctx = Context(reason=reason, by_user=bool((body or {}).get("requestedByUser", True)))
        if allows(Kind.CHAIN, chain.status, Event.CANCEL) and all(
                allows(Kind.FRANCHISE, f.status, Event.CANCEL) for f in franchises):
            event = Event.CANCEL
        elif allows(Kind.CHAIN, chain.status, Event.CANCEL_REQUEST) and all(
                allows(Kind.FRANCHISE, f.status, Event.CANCEL_REQUEST) for f in franchises):
            event = Event.CANCEL_REQUEST
            chain.cancellation_request = {
                "id": new_receipt(), "reason": reason, "cancellationRequestDate": iso(now),
                "requestedByUser": ctx.by_user, "deniedBySeller": False, "deniedBySellerReason": None,
                "cancellationRequestDenyDate": None,
            }
        else:
            raise cannot_cancel(order_id, str(chain.status))
        with self.store.transaction():
            self._move(chain, event, now, ctx)
            self.store.save_order(chain)
        return self.receipt(order_id, now)

    def seller_cancel(self, account: str, order_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """The seller cancels (or accepts a pending request): canceled, stock released, marketplace told."""
        chain = self.chain_of(self.order(account, order_id))
        self._refuse_if_invoiced(chain, order_id)
        now = self.now()
        if chain.status == Status.CANCELED:
            return self.receipt(order_id, now)
        if not allows(Kind.CHAIN, chain.status, Event.SELLER_CANCEL):
            raise cannot_cancel(order_id, str(chain.status))
        with self.store.transaction():
            self._move(chain, Event.SELLER_CANCEL, now, Context(reason=(body or {}).get("reason"), by_seller=True))
            self.store.save_order(chain)
        return self.receipt(order_id, now)

    def deny_cancellation(self, account: str, order_id: str, body: dict[str, Any]) -> None:
        chain = self.chain_of(self.order(account, order_id))
        request = chain.cancellation_request
        if chain.status != Status.WAITING_FOR_SELLER_DECISION or request is None:
            raise BadRequest("SIM007", f"Order {order_id} has no pending cancellation request (status {chain.status})")
        wanted = (body or {}).get("cancellationRequestId")
        if wanted and wanted != request["id"]:
            raise BadRequest("SIM007", f"cancellationRequestId {wanted!r} is not the pending request ({request['id']})")
        now = self.now()
        with self.store.transaction():
            self._decline_request(chain, now, (body or {}).get("denyReason"))
            self.store.save_order(chain)

    def _decline_request(self, chain: Order, now: datetime, reason: str | None) -> None:
        """The pending cancellation request is declined: the chain order goes back to
        payment-approved, its franchise orders to where they were, the decision timer is cleared."""
        if chain.cancellation_request is not None:
            chain.cancellation_request.update(deniedBySeller=True, deniedBySellerReason=reason,
                                              cancellationRequestDenyDate=iso(now))
        self._move(chain, Event.CANCEL_DENY, now, Context())

    def _refuse_if_invoiced(self, chain: Order, order_id: str) -> None:
        if chain.status == Status.INVOICED:
            raise cannot_cancel(order_id, str(chain.status))
        if chain.invoiced_total("Output") > 0:
            raise cannot_cancel(order_id, f"{chain.status} (partially invoiced)")

    # --- handling and invoices -----------------------------------------------------------
    def start_handling(self, account: str, order_id: str) -> None:
        order = self.order(account, order_id)
        targets = self.franchise_orders(order) if order.kind is Kind.CHAIN else [order]
        ready = [f for f in targets if allows(Kind.FRANCHISE, f.status, Event.START_HANDLING)]
        if not ready:
            raise wrong_status(str(Status.READY_FOR_HANDLING), order_id, ", ".join(str(f.status) for f in targets))
        now = self.now()
        with self.store.transaction():
            for franchise in ready:
                self._move(franchise, Event.START_HANDLING, now, Context())
                self.store.save_order(franchise)

    def invoice(self, account: str, order_id: str, body: dict[str, Any]) -> dict[str, Any]:
        target = self.order(account, order_id)
        chain = self.chain_of(target)
        now = self.now()
        number = body["invoiceNumber"]
        existing = next((p for p in chain.packages if p["invoiceNumber"] == number), None)
        receipt = self.receipt(order_id, now)
        if existing is not None:
            # Same number again: recorded once, a new receipt, and the marketplace is told again.
            with self.store.transaction():
                existing["receipt"] = receipt["receipt"]
                chain.last_change = now
                self._enqueue(chain, callbacks.invoice(self.config.callbacks, chain, existing), now)
                self.store.save_order(chain)
            return receipt
        kind = body["type"]
        # Sending the invoice is how a seller refuses a cancellation request (VTEX), and an order
        # partially invoiced cannot be canceled, by the decision timeout either: an Output invoice
        # declines a pending request before it is recorded.
        declining = kind == "Output" and chain.status == Status.WAITING_FOR_SELLER_DECISION
        franchises = self.franchise_orders(chain)
        open_targets = [f for f in (franchises if target.kind is Kind.CHAIN else [target]) if f.status != Status.INVOICED]
        invoices.check_accepts(kind, order_id, target, chain, open_targets, declining)
        package = invoices.package(body, target, receipt["receipt"], now)
        with self.store.transaction():
            chain.packages.append(package)
            chain.last_change = now
            if kind == "Output":
                if declining:
                    self._decline_request(chain, now, f"The seller sent invoice {number} and goes on with the order")
                    franchises = self.franchise_orders(chain)  # as the decline left them
                self._settle_invoices(chain, franchises, now)
            self._enqueue(chain, callbacks.invoice(self.config.callbacks, chain, package), now)
            self.store.save_order(chain)
        return receipt

    def _settle_invoices(self, chain: Order, franchises: list[Order], now: datetime) -> None:
        """Move every order whose output invoices now reach its value to ``invoiced``."""
        for franchise in franchises:
            own = sum(p["invoiceValue"] for p in chain.packages
                      if p["type"] == "Output" and p["franchiseOrderId"] == franchise.id)
            if own >= franchise.value and allows(Kind.FRANCHISE, franchise.status, Event.INVOICE_FULL):
                self._move(franchise, Event.INVOICE_FULL, now, Context())
                self.store.save_order(franchise)
        if chain.invoiced_total("Output") >= chain.value and allows(Kind.CHAIN, chain.status, Event.INVOICE_FULL):
            self._move(chain, Event.INVOICE_FULL, now, Context())

    def tracking(self, account: str, order_id: str, invoice_number: str, body: dict[str, Any]) -> dict[str, Any]:
        chain = self.chain_of(self.order(account, order_id))
        package = next((p for p in chain.packages if p["invoiceNumber"] == invoice_number), None)
        if package is None:
            raise NotFound("ORD038", f"Invoices not found from order {order_id}: no invoice {invoice_number!r}")
        now = self.now()
        receipt = self.receipt(order_id, now)
        with self.store.transaction():
            package.update(trackingNumber=body["trackingNumber"], trackingUrl=body.get("trackingUrl") or "",
                           courier=body.get("courier") or "", dispatchedDate=body.get("dispatchedDate"),
                           receipt=receipt["receipt"])
            chain.last_change = now
            self._enqueue(chain, callbacks.invoice(self.config.callbacks, chain, package), now)
            self.store.save_order(chain)
        return receipt

    # --- changes -------------------------------------------------------------------------
    def register_change(self, account: str, order_id: str, body: dict[str, Any]) -> dict[str, Any]:
        chain = self.chain_of(self.order(account, order_id))
        for change in chain.changes:
            if change["requestId"] == body["requestId"]:
                return change["receipt"]  # idempotent per requestId: nothing is sent again
        franchises = self.franchise_orders(chain)
        if chain.status != Status.PAYMENT_APPROVED or not all(
                f.status in (Status.READY_FOR_HANDLING, Status.HANDLING) for f in franchises):
            states = ", ".join(str(f.status) for f in franchises)
            raise wrong_status("handling", order_id, f"{chain.status}; franchise orders: {states}")
        added = [changes.change_item(self.config, i) for i in body.get("itemsAdded", [])]
        removed = [changes.change_item(self.config, i) for i in body.get("itemsRemoved", [])]
        changes.check_removals(chain, removed)
        unlisted = changes.unlisted_skus(self.config, added)
        # One transaction from here: the stock rows an unlisted SKU gets (which the check of free
        # units reads) go with a change refused further on.
        with self.store.transaction():
            self._stock_unlisted(account, unlisted)
            changes.check_free_units(self.store, chain, franchises, added)
            changes.check_value(chain, added, removed, body)
            now = self.now()
            change = {
                "requestId": body["requestId"], "reason": body["reason"], "discountValue": body["discountValue"],
                "incrementValue": body["incrementValue"], "itemsAdded": added, "itemsRemoved": removed,
                "state": "pending", "requestedAt": iso(now), "receipt": self.receipt(chain.id, now),
            }
            chain.changes.append(change)
            chain.last_change = now
            self._enqueue(chain, callbacks.change(self.config.callbacks, chain, change), now)
            self.store.save_order(chain)
        return change["receipt"]

    def _stock_unlisted(self, account: str, skus: list[str]) -> None:
        """Stock rows for SKUs the catalog does not list (``placement.unknown-skus: accept``): each
        franchise store's default, as for a listed SKU its configuration does not name. Written
        the first time a SKU is asked for; kept after."""
        if skus:
            self.store.seed_stock(account, self.config.initial_stock(skus))

    def settle_change(self, account: str, order_id: str, request_id: str, outcome: str, reply: Any) -> None:
        """The marketplace answered a change callback: ``accepted`` applies it; anything else leaves the order."""
        chain = self.order(account, order_id)
        change = next((c for c in chain.changes if c["requestId"] == request_id), None)
        if change is None or change["state"] != "pending":
            return
        now = self.now()
        with self.store.transaction():
            change["settledAt"] = iso(now)
            change["reply"] = reply
            # Accepted too late to apply: the order, or part of it, was invoiced or canceled
            # meanwhile, and a final order's lines and stock no longer move.
            franchises = self.franchise_orders(chain)
            if outcome == "accepted" and (chain.status in FINAL or any(f.status in FINAL for f in franchises)):
                change["state"] = "accepted-not-applied"
            elif outcome == "accepted":
                change["state"] = self._apply_change(chain, franchises, change)
            else:
                change["state"] = outcome
            chain.last_change = now
            self.store.save_order(chain)
            self._notify("change-settled", chain, {"requestId": request_id, "state": change["state"]})

    def _apply_change(self, chain: Order, franchises: list[Order], change: dict[str, Any]) -> str:
        # Planned before the removals: they only free units, so the plan stays good after them.
        plan = changes.plan_additions(self.store, chain, franchises, change["itemsAdded"])
        if isinstance(plan, int):
            return "failed-no-stock"
        for item in change["itemsRemoved"]:
            # The units go once from the chain order's lines and once from its franchise orders'
            # lines, wherever level 3 holds them (a SKU can sit in two franchise orders).
            self._remove_units([chain], item["id"], item["quantity"])
            self._remove_units(franchises, item["id"], item["quantity"])
        for item, franchise in zip(change["itemsAdded"], plan, strict=True):
            template = franchise.items[0] if franchise.items else None
            line = Item(id=item["id"], quantity=item["quantity"], price=item["price"], seller=self.config.seller_id,
                        name=item["name"], store_id=franchise.store_id or "",
                        sla=template.sla if template else next(iter(self.config.slas)),
                        delivery_channel=template.delivery_channel if template else "delivery",
                        measurement_unit=item["measurementUnit"], unit_multiplier=item["unitMultiplier"])
            franchise.items.append(line)
            chain.items.append(Item(**{s: getattr(line, s) for s in Item.__slots__}))
            self.store.move_stock(chain.account, line.store_id, line.id, reserved=item["quantity"])
        chain.discount += change["discountValue"]
        chain.increment += change["incrementValue"]
        for franchise in franchises:
            self.store.save_order(franchise)
        return "accepted"

    def _remove_units(self, orders: list[Order], sku: str, count: int) -> None:
        """Take ``count`` units of ``sku`` off these orders' lines, in order (a line left with none
        goes); a franchise order's reserved stock goes back with its units."""
        for order in orders:
            for line in order.items:
                if line.id == sku and count:
                    take = min(line.quantity, count)
                    line.quantity -= take
                    count -= take
                    if order.kind is Kind.FRANCHISE and take:
                        self.store.move_stock(order.account, line.store_id, sku, reserved=-take)
            order.items = [i for i in order.items if i.quantity > 0]

    # --- timers --------------------------------------------------------------------------
    def fire_due_timers(self, at_most: int) -> tuple[int, int]:
        """Apply up to ``at_most`` of the timers due by now, oldest first, each at its own due time
        and in its own savepoint. Returns how many were taken and how many moved an order (a timer
        whose order has moved on is dropped); fewer taken than ``at_most`` means none are left due."""
        due = self.store.due_timers(self.now().timestamp(), at_most)
        moved = 0
        for timer in due:
            with self.store.transaction():
                self.store.delete_timer(timer.id)
                order = self.store.get_order(timer.account, timer.order_id)
                event = Event(timer.event)
                if order is not None and allows(order.kind, order.status, event):
                    at = datetime.fromtimestamp(timer.due_at, tz=self.now().tzinfo)
                    ctx = Context(reason=f"{event}: no action in time", by_system=True)
                    self._move(order, event, at, ctx)
                    self.store.save_order(order)
                    moved += 1
        return len(due), moved

    # --- the one place statuses change ---------------------------------------------------
    def _move(self, order: Order, event: Event, at: datetime, ctx: Context) -> None:
        move = lookup(order.kind, order.status, event)
        if move is None:
            raise BadRequest("SIM012", f"Order {order.id} cannot take {event} in status {order.status}")
        target = order.previous_status if move.next == PREVIOUS else move.next
        order.timeline.append(Transition(order.status, str(target), str(event), at,
                                         self.store.next_sequence(order.account, "moves")))
        order.status = str(target)
        order.last_change = at
        for effect in move.effects:
            self._effect(order, effect, at, ctx)
        if move.cascade is not None and order.kind is Kind.CHAIN:
            for franchise in self.franchise_orders(order):
                if allows(Kind.FRANCHISE, franchise.status, move.cascade):
                    self._move(franchise, move.cascade, at, ctx)
                    self.store.save_order(franchise)
        self._notify("status", order, {"event": str(event), "status": order.status})

    def _effect(self, order: Order, effect: Effect, at: datetime, ctx: Context) -> None:
        timings = self.config.timings
        if effect is Effect.RELEASE_STOCK:
            self.store.move_stocks(order.account, [(i.store_id, i.id, -i.quantity, 0) for i in order.items])
        elif effect is Effect.COMMIT_STOCK:
            self.store.move_stocks(order.account, [(i.store_id, i.id, -i.quantity, -i.quantity) for i in order.items])
        elif effect is Effect.CLEAR_TIMERS:
            self.store.clear_timers(order.account, order.id)
        elif effect is Effect.SCHEDULE_AUTHORIZATION_TIMEOUT:
            self._timer(order, Event.AUTHORIZATION_TIMEOUT, at, timings.authorization_timeout)
        elif effect is Effect.SCHEDULE_WINDOW_END:
            self._timer(order, Event.WINDOW_END, at, timings.window_to_cancel)
        elif effect is Effect.SCHEDULE_DECISION_TIMEOUT:
            self._timer(order, Event.DECISION_TIMEOUT, at, timings.seller_decision_timeout)
        elif effect is Effect.RECORD_CANCELLATION:
            order.cancellation = {
                "RequestedByUser": ctx.by_user, "RequestedBySystem": ctx.by_system,
                "RequestedBySellerNotification": ctx.by_seller, "RequestedByPaymentNotification": False,
                "Reason": ctx.reason, "CancellationDate": iso(at),
            }
        elif effect is Effect.PROMISE_SHIPPING:
            # VTEX defines the date "after the confirmation of the order", and keeps it: an SLA
            # edited later, or a cancellation request denied, does not move it.
            for item in order.items:
                item.shipping_estimate_date = promised_date(at, self.config.slas.get(item.sla))
        elif effect is Effect.NOTIFY_SELLER_CANCELLATION:
            self._enqueue(order, callbacks.seller_cancellation(self.config.callbacks, order), at)

    def _timer(self, order: Order, event: Event, at: datetime, seconds: float) -> None:
        self.store.add_timer(order.account, order.id, str(event), (at + timedelta(seconds=seconds)).timestamp())

    def _enqueue(self, chain: Order, callback: callbacks.Callback, at: datetime) -> None:
        self.store.enqueue(chain.account, chain.id, callback.kind, callback.url, callback.body, callback.reply_schema,
                           at.timestamp(), callback.ref)

    def _notify(self, what: str, order: Order, data: dict[str, Any]) -> None:
        for listener in self.listeners:
            listener(what, order, data)
