"""What the scenario engine tells its reporters, Schemathesis-style: plain event objects, and
reporters that each turn them into something (a console line, a JUnit test case)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, Union


@dataclass(frozen=True)
class RunStarted:
    scenarios: int
    target: str  # the marketplace endpoint under test
    server: str  # the moisim the run drives


@dataclass(frozen=True)
class ScenarioStarted:
    name: str
    kind: str
    source: str
    order_id: str | None


@dataclass(frozen=True)
class StepFinished:
    scenario: str
    index: int
    line: int | None
    label: str
    ok: bool
    failures: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ScenarioFinished:
    name: str
    kind: str
    source: str
    ok: bool
    seconds: float
    failures: tuple[str, ...] = ()  # "step 3 (line 14) invoice: ..." lines
    error: str | None = None  # the run itself broke (moisim unreachable, ...), not the marketplace


@dataclass(frozen=True)
class RunFinished:
    passed: int
    failed: int
    seconds: float
    results: tuple[ScenarioFinished, ...] = field(default=())


Event = Union[RunStarted, ScenarioStarted, StepFinished, ScenarioFinished, RunFinished]


class Reporter(Protocol):
    def handle(self, event: Event) -> None: ...
