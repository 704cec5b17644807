"""Playback on a running server: bindings attach scenarios to the marketplace's own orders.

A binding (``scenarios.bindings`` in the configuration) names a scenario and what an incoming
order must have: an affiliate, a SKU, a ``marketplaceOrderGroup`` prefix. When a matching chain
order is placed, the scenario is attached to it in the same transaction; its timeline starts
when the order (or its franchise order) reaches the binding's ``start-on`` status, and its steps
run as their ``after`` times fall due, on whichever clock the server runs.

Playback does the seller's part: steps before the first seller action, and marketplace actions
(place, authorize, request-cancellation: the marketplace does those itself), are skipped. Each
step's result is written to the journal (kind ``scenario``); a failed action ends the playback.
Attached scenarios live in the store, so a restart resumes them.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable

from simulator.clock import Clock, iso
from simulator.config import Config, ConfigError
from simulator.domain import render
from simulator.domain.errors import VtexError
from simulator.domain.orders import Order
from simulator.domain.service import OrderService
from simulator.domain.workflow import Event, Kind
from simulator.scenarios import bodies, checks
from simulator.scenarios.model import BUNDLED_DIR, Scenario, ScenarioError, Step, load_scenarios
from simulator.schemas import SchemaRegistry
from simulator.store.base import Playback as Attached

log = logging.getLogger("moisim.playback")


def scenarios_for(config: Config, registry: SchemaRegistry) -> dict[str, Scenario]:
    """The scenarios the bindings name (bundled ones and ``scenarios.directory``); a missing or
    invalid one is a configuration error, reported at start-up."""
    if not config.bindings:
        return {}
    folders: list[Any] = [BUNDLED_DIR] + ([config.scenario_directory] if config.scenario_directory else [])
    try:
        found = load_scenarios(folders, registry)
    except ScenarioError as exc:
        raise ConfigError([f"scenarios: {p}" for p in exc.problems]) from None
    problems = []
    for i, binding in enumerate(config.bindings):
        scenario = found.get(binding.scenario)
        if scenario is None:
            problems.append(f"{binding.where}scenarios.bindings[{i}].scenario: no scenario named "
                            f"{binding.scenario!r}; known: {sorted(found)}")
        elif not any(step.by_seller for step in scenario.steps):
            problems.append(f"{binding.where}scenarios.bindings[{i}].scenario: {binding.scenario!r} has no seller "
                            "action to play")
    if problems:
        raise ConfigError(problems)
    return found


class ScenarioPlayback:
    def __init__(self, service: OrderService, clock: Clock, scenarios: dict[str, Scenario],
                 settle: Callable[[], Awaitable[bool]], wake: Callable[[], None]) -> None:
        self.service = service
        self.store = service.store
        self.clock = clock
        self.scenarios = scenarios
        self.settle = settle  # wait until due callbacks were attempted (before checking them)
        self.wake = wake  # tell the dispatcher something was queued
        service.listeners.append(self._on_event)

    # --- attaching and starting (inside the service's transactions) ---------------------------
    def _on_event(self, what: str, order: Order, data: dict[str, Any]) -> None:
        if what != "status" or not self.scenarios:
            return
        chain_id = order.parent_id or order.id
        if order.kind is Kind.CHAIN and data.get("event") == str(Event.PLACE):
            self._attach(order)
        for attached in self.store.playbacks_of(order.account, chain_id):
            if attached.due_at is None and attached.start_on == data.get("status"):
                step = self.scenarios[attached.scenario].steps[attached.step]
                self.store.move_playback(attached.id, attached.step, order.last_change.timestamp() + step.after)

    def _attach(self, chain: Order) -> None:
        skus = [item.id for item in chain.items]
        for binding in self.service.config.bindings:
            if binding.matches(chain.affiliate_id, skus, chain.marketplace_order_group):
                first = next(s.index for s in self.scenarios[binding.scenario].steps if s.by_seller)
                self.store.add_playback(chain.account, chain.id, binding.scenario, first, binding.start_on)

    def next_due_at(self) -> float | None:
        return self.store.next_playback_at()

    # --- running due steps -------------------------------------------------------------------
    async def run_due(self, stopping: Callable[[], bool]) -> int:
        """Play every step due by now (until ``stopping`` says the server stops: the rest stay due
        and play after the restart); returns how many ran."""
        ran = 0
        while True:
            due = self.store.due_playbacks(self.clock.now().timestamp())
            if not due:
                return ran
            for attached in due:
                if stopping():
                    return ran
                await self._play(attached)
                ran += 1
                await asyncio.sleep(0)  # many orders' steps due at once must not hold the loop

    async def _play(self, attached: Attached) -> None:
        scenario = self.scenarios.get(attached.scenario)
        if scenario is None:  # the configuration no longer has it
            with self.store.transaction():
                self.store.delete_playback(attached.id)
            return
        step = scenario.steps[attached.step]
        if step.action == "expect":
            await self.settle()
        now = self.clock.now()
        with self.store.transaction():
            ok, failures, notes = self._run_step(attached, step)
            self.store.journal_add(attached.account, iso(now) or "", "in", "scenario", attached.order_id, {
                "scenario": scenario.name, "step": step.index + 1, "line": step.line, "label": step.label,
                "ok": ok, "failures": failures, "notes": notes})
            following = step.index + 1
            if (not ok and step.action != "expect") or following >= len(scenario.steps):
                self.store.delete_playback(attached.id)
            else:
                self.store.move_playback(attached.id, following, now.timestamp() + scenario.steps[following].after)
        if step.action not in (None, "expect"):
            self.wake()
        log.info("scenario step", extra={"fields": {"orderId": attached.order_id, "scenario": scenario.name,
                                                    "step": step.index + 1, "ok": ok, "failures": failures}})

    def _run_step(self, attached: Attached, step: Step) -> tuple[bool, list[str], list[str]]:
        notes = ["stub replies apply only to conformance runs with the built-in stub"] if step.stub else []
        if step.action is None:
            return True, [], notes
        if not step.by_seller and step.action != "expect":
            return True, [], notes + [f"{step.action} skipped: the marketplace does that itself"]
        service, account, order_id = self.service, attached.account, attached.order_id
        if step.action == "expect":
            failures = checks.check(step.args, service.inspect(account, order_id))
            return not failures, failures, notes
        try:
            self._act(step, account, order_id)
        except VtexError as exc:
            if step.expect_error == exc.code:
                return True, [], notes
            return False, [f"{exc.code}: {exc.message}"], notes
        if step.expect_error:
            return False, [f"succeeded, expected error {step.expect_error}"], notes
        return True, [], notes

    def _act(self, step: Step, account: str, order_id: str) -> None:
        service, args = self.service, step.args
        order = render.order_json(service.chain_of(service.order(account, order_id)), service.config)
        if step.action == "start-handling":
            service.start_handling(account, order_id)
        elif step.action == "invoice":
            number = str(args.get("number") or f"NF-{step.index + 1}")
            service.invoice(account, order_id, bodies.invoice(order, args, number))
        elif step.action == "tracking":
            number = str(args.get("invoice") or bodies.last_invoice_number(order) or "none")
            service.tracking(account, order_id, number, bodies.tracking(args))
        elif step.action == "change":
            service.register_change(account, order_id, bodies.change(service.config, order, args))
        elif step.action == "cancel":
            service.seller_cancel(account, order_id, bodies.cancellation(args))
        elif step.action == "deny-cancellation":
            service.deny_cancellation(account, order_id, bodies.denial(order, args))
