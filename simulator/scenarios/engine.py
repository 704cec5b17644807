"""The scenario engine: plays one scenario against a moisim over HTTP and reports as it goes.

It drives the same routes a marketplace and a seller would (place, authorize, cancel as the
marketplace; start handling, invoice, tracking, changes, cancel, deny as the seller), moves the
clock (``/_sim/clock/advance`` on a virtual clock, real waiting otherwise), waits for callbacks
to be attempted (``/_sim/outbox/drain``) and checks expectations against ``/_sim/orders/{id}``.
A failed step ends its scenario: later steps depend on it.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any, Callable

import aiohttp

from simulator import jsontext
from simulator.config import Config
from simulator.durations import parse_duration
from simulator.scenarios import bodies, checks
from simulator.scenarios.events import Event, ScenarioFinished, ScenarioStarted, StepFinished
from simulator.scenarios.model import Scenario, Step
from simulator.stub import MarketplaceStub, Reply

Emit = Callable[[Event], None]


class RunError(RuntimeError):
    """The run itself broke (moisim unreachable, refused the keys): not the marketplace's fault."""


@dataclass(frozen=True)
class Keys:
    marketplace: dict[str, str]
    seller: dict[str, str]
    admin: dict[str, str]

    @classmethod
    def from_config(cls, config: Config) -> "Keys":
        by_role: dict[str, dict[str, str]] = {}
        for c in config.credentials:
            by_role.setdefault(c.role, {"X-VTEX-API-AppKey": c.app_key, "X-VTEX-API-AppToken": c.app_token})
        missing = [role for role in ("marketplace", "seller", "admin") if role not in by_role]
        if missing:
            raise RunError(f"the configuration has no credentials for role(s) {missing}")
        return cls(by_role["marketplace"], by_role["seller"], by_role["admin"])


class MoisimClient:
    """moisim's routes as the runner uses them, with the right keys for each role."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, keys: Keys) -> None:
        self.session = session
        self.base = base_url.rstrip("/")
        self.keys = keys

    async def call(self, method: str, path: str, role: str, body: Any = None, raw: str | None = None) -> tuple[int, Any]:
        headers = dict(getattr(self.keys, role))
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        if data is not None:
            headers["Content-Type"] = "application/json"
        try:
            async with self.session.request(method, self.base + path, data=data, headers=headers) as resp:
                text = await resp.text()
        except aiohttp.ClientError as exc:
            raise RunError(f"moisim at {self.base} is unreachable: {exc}") from None
        try:
            parsed = jsontext.loads_foreign(text) if text else None
        except ValueError:  # not JSON, or nested too deep to be moisim's
            parsed = text
        if resp.status in (401, 403) and role == "admin":
            raise RunError(f"moisim at {self.base} refused the admin keys ({resp.status}); pass --config with its keys")
        return resp.status, parsed

    async def admin(self, method: str, path: str, body: Any = None) -> Any:
        status, parsed = await self.call(method, path, "admin", body)
        if status >= 400:
            raise RunError(f"{method} {path} answered {status}: {_error_text(parsed)}")
        return parsed

    async def clock_kind(self) -> str:
        answer = await self.admin("GET", "/_sim/clock")
        if not isinstance(answer, dict) or answer.get("clock") not in ("real", "virtual"):
            raise RunError(f"{self.base} does not answer as moisim does: GET /_sim/clock gave {_snippet(answer)}; "
                           "--server takes the URL of a running moisim serve")
        return str(answer["clock"])

    async def drain(self) -> None:
        await self.admin("POST", "/_sim/outbox/drain")

    async def inspect(self, order_id: str) -> dict[str, Any] | None:
        status, parsed = await self.call("GET", f"/_sim/orders/{order_id}", "admin")
        if status == 404:
            return None
        if status >= 400:
            raise RunError(f"GET /_sim/orders/{order_id} answered {status}: {_error_text(parsed)}")
        if not isinstance(parsed, dict) or not isinstance(parsed.get("chainOrder"), dict):
            raise RunError(f"GET /_sim/orders/{order_id} gave no chainOrder: {_snippet(parsed)}; is {self.base} moisim?")
        return parsed


def _snippet(body: Any) -> str:
    """What came back, on one line and short."""
    text = body if isinstance(body, str) else jsontext.dumps(body)
    text = " ".join(text.split())
    return repr(text[:120] + ("..." if len(text) > 120 else ""))


def _error_text(body: Any) -> str:
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return f"{body['error'].get('code')}: {body['error'].get('message')}"
    return str(body)[:300]


class ScenarioPlayer:
    """Plays scenarios for one run: one marketplace endpoint, one moisim, one run id."""

    def __init__(self, client: MoisimClient, config: Config, endpoint: str, run_id: str, emit: Emit,
                 stub: MarketplaceStub | None = None, stall_seconds: float = 6.0) -> None:
        self.client = client
        self.config = config
        self.endpoint = endpoint
        self.run_id = run_id
        self.emit = emit
        self.stub = stub
        self.stall_seconds = stall_seconds  # how long a scripted "timeout" reply stalls
        self.affiliate, self.sales_channel = next(iter(config.affiliates.items()))
        self._clock: str | None = None

    async def play(self, scenario: Scenario) -> ScenarioFinished:
        started = time.perf_counter()
        state = _State(group=f"{scenario.name}-{self.run_id}")
        state.order_id = f"{self.affiliate}-{state.group}-01"
        self.emit(ScenarioStarted(scenario.name, scenario.kind, scenario.source, state.order_id))
        failures: list[str] = []
        error: str | None = None
        try:
            if self._clock is None:
                self._clock = await self.client.clock_kind()
            for step in scenario.steps:
                step_failures, notes = await self._step(scenario, step, state)
                self.emit(StepFinished(scenario.name, step.index, step.line, step.label, not step_failures,
                                       tuple(step_failures), tuple(notes)))
                if step_failures:
                    where = f"step {step.index + 1}" + (f" (line {step.line})" if step.line else "")
                    failures.extend(f"{where} {step.label}: {f}" for f in step_failures)
                    break
            if not failures and scenario.kind == "conformance" and state.placed:
                view = await self.client.inspect(state.order_id)
                if view is not None:
                    failures.extend(f"after the last step: {f}" for f in checks.final_check(scenario, view))
        except RunError as exc:
            error = str(exc)
        result = ScenarioFinished(scenario.name, scenario.kind, scenario.source, ok=not failures and error is None,
                                  seconds=time.perf_counter() - started, failures=tuple(failures), error=error)
        self.emit(result)
        return result

    # --- one step --------------------------------------------------------------------------
    async def _step(self, scenario: Scenario, step: Step, state: "_State") -> tuple[list[str], list[str]]:
        notes: list[str] = []
        if step.after:
            await self._wait(step.after)
        if step.stub:
            notes.append(self._script_stub(step.stub))
        if step.action is None:
            return [], notes
        if step.action == "expect":
            await self.client.drain()
            view = await self.client.inspect(state.order_id)
            if view is None:
                return [f"order {state.order_id} does not exist (was it placed?)"], notes
            return checks.check(step.args, view), notes
        status, reply = await self._act(scenario, step, state)
        await self.client.drain()
        return _judge(step, status, reply), notes

    async def _wait(self, seconds: float) -> None:
        if self._clock == "virtual":
            await self.client.admin("POST", "/_sim/clock/advance", {"seconds": seconds})
        else:
            await asyncio.sleep(seconds)
        await self.client.drain()

    def _script_stub(self, replies: dict[str, list[Any]]) -> str:
        if self.stub is None:
            return "stub replies ignored: the marketplace under test is not moisim's built-in stub"
        for kind, items in replies.items():
            self.stub.script(kind, *(self._reply(item) for item in items))
        return "stub scripted: " + ", ".join(f"{k} {v}" for k, v in replies.items())

    def _reply(self, item: Any) -> Reply:
        if item == "timeout":
            return Reply.timeout(self.stall_seconds)
        if item == "drop":
            return Reply.dropped()
        if isinstance(item, int):
            return Reply(status=item)
        return Reply(status=item.get("status", 200), body=item.get("body"), delay=parse_duration(item.get("delay", 0)))

    async def _act(self, scenario: Scenario, step: Step, state: "_State") -> tuple[int, Any]:
        c, args, oid = self.client, step.args, state.order_id
        action = step.action
        if action == "place":
            if args.get("raw") is not None:
                return await c.call("PUT", self._place_path(), "marketplace", raw=args["raw"])
            if args.get("again") and state.last_placement is not None:
                body = state.last_placement
            else:
                body = bodies.place(self.config, state.group, self.endpoint, scenario.order, args)
            state.last_placement = body
            status, reply = await c.call("PUT", self._place_path(), "marketplace", body)
            state.placed = state.placed or status == 200
            return status, reply
        if action == "request-cancellation":
            return await c.call("POST", f"/api/oms/pvt/orders/{oid}/cancel", "marketplace", bodies.cancellation(args))
        if action == "start-handling":
            return await c.call("POST", f"/api/oms/pvt/orders/{oid}/start-handling", "seller")
        if action == "cancel":
            return await c.call("POST", f"/api/oms/pvt/orders/{oid}/cancel", "seller", bodies.cancellation(args))
        order = await self._order(oid)
        if action == "authorize":
            path = f"/api/checkout/pvt/orders/{oid}/receipts/marketplace-order-authorization"
            return await c.call("POST", path, "marketplace", bodies.authorization(order, args))
        if action == "invoice":
            state.invoices += 1
            number = str(args.get("number") or f"NF-{state.invoices}")
            return await c.call("POST", f"/api/oms/pvt/orders/{oid}/invoice", "seller",
                                bodies.invoice(order, args, number))
        if action == "tracking":
            number = str(args.get("invoice") or bodies.last_invoice_number(order) or "none")
            return await c.call("PATCH", f"/api/oms/pvt/orders/{oid}/invoice/{number}", "seller", bodies.tracking(args))
        if action == "change":
            return await c.call("POST", f"/api/oms/pvt/orders/{oid}/changes", "seller",
                                bodies.change(self.config, order, args))
        if action == "deny-cancellation":
            return await c.call("POST", f"/api/orders/pvt/document/{oid}/deny-cancellation-request", "seller",
                                bodies.denial(order, args))
        raise AssertionError(f"unknown action {action}")  # the schema admits no other

    def _place_path(self) -> str:
        return f"/api/checkout/pvt/orders?sc={self.sales_channel}&affiliateId={self.affiliate}"

    async def _order(self, order_id: str) -> dict[str, Any]:
        status, body = await self.client.call("GET", f"/api/oms/pvt/orders/{order_id}", "admin")
        return body if status == 200 and isinstance(body, dict) else {"marketplaceOrderGroup": "", "items": [], "value": 0}


@dataclass
class _State:
    group: str
    order_id: str = ""
    placed: bool = False
    last_placement: dict[str, Any] | None = None
    invoices: int = 0


def _judge(step: Step, status: int, reply: Any) -> list[str]:
    code = reply["error"].get("code") if isinstance(reply, dict) and isinstance(reply.get("error"), dict) else None
    if step.expect_error:
        if status < 400:
            return [f"answered {status}, expected error {step.expect_error}"]
        if code != step.expect_error:
            return [f"answered {status} {_error_text(reply)}; expected error {step.expect_error}"]
        return []
    if status >= 400:
        return [f"moisim answered {status} {_error_text(reply)}"]
    return []
