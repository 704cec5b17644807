"""Scenario files: what the seller (and in conformance runs the marketplace) does to one order.

A scenario is YAML validated against ``schemas/scenario.json``; every mistake is reported with
its file and line. Each step does one thing: an action, a check (``expect``) or a wait
(``after`` alone); ``after`` on an action waits first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simulator import yamlfile
from simulator.durations import parse_duration
from simulator.schemas import SchemaRegistry, data_dir, default_registry

BUNDLED_DIR = data_dir("scenarios")

MARKETPLACE_ACTIONS = ("place", "authorize", "request-cancellation")
SELLER_ACTIONS = ("start-handling", "invoice", "tracking", "change", "cancel", "deny-cancellation")
ACTIONS = MARKETPLACE_ACTIONS + SELLER_ACTIONS
KINDS = ("conformance", "behaviour")


class ScenarioError(yamlfile.Problems):
    """Every problem found in scenario files, one per line, each with file and line."""

    what = "scenario"


@dataclass(frozen=True)
class Step:
    index: int
    line: int | None
    action: str | None = None  # one of ACTIONS, "expect", or None for a plain wait
    args: dict[str, Any] = field(default_factory=dict)
    after: float = 0.0
    expect_error: str | None = None
    stub: dict[str, list[Any]] | None = None

    @property
    def label(self) -> str:
        if self.action is None:
            return f"after {self.after:g}s"
        detail = ""
        if self.action == "expect":
            detail = " " + ", ".join(f"{k}={v}" for k, v in self.args.items())
        elif self.expect_error:
            detail = f" (expect {self.expect_error})"
        return f"{self.action}{detail}"

    @property
    def by_seller(self) -> bool:
        return self.action in SELLER_ACTIONS


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    kind: str
    order: dict[str, Any]
    steps: tuple[Step, ...]
    source: str

    @property
    def places_order(self) -> bool:
        return any(step.action == "place" for step in self.steps)


def parse_scenario(data: Any, source: str, lines: yamlfile.Located | None = None,
                   registry: SchemaRegistry | None = None) -> Scenario:
    """A ``Scenario`` from parsed YAML; raises ``ScenarioError`` naming file, line and field."""
    registry = registry or default_registry()

    def where(path: tuple) -> str:
        line = lines.line(path) if lines else None
        return f"{source}:{line}" if line else source

    findings = registry.findings("scenario", data)
    if findings:
        raise ScenarioError([f"{where(f.path)}: {f.where}: {f.message}" for f in findings])
    problems: list[str] = []
    steps: list[Step] = []
    for index, raw in enumerate(data["steps"]):
        path = ("steps", index)
        actions = [key for key in raw if key in ACTIONS or key == "expect"]
        if len(actions) > 1:
            problems.append(f"{where(path)}: steps[{index}]: a step does one thing; this one has {' and '.join(actions)}")
            continue
        action = actions[0] if actions else None
        if "expect-error" in raw and action in (None, "expect"):
            problems.append(f"{where(path + ('expect-error',))}: steps[{index}].expect-error: only an action can fail")
            continue
        if not actions and "after" not in raw and "stub" not in raw:
            problems.append(f"{where(path)}: steps[{index}]: nothing to do; give an action, expect or after")
            continue
        too_long = _duration_problems(raw, path)
        if too_long:
            problems += [f"{where(at)}: {yamlfile.json_path(at)}: {text}" for at, text in too_long]
            continue
        expect = raw.get("expect") or {}
        if action == "expect" and set(expect) & {"outcome", "reply", "attempts"} and "callback" not in expect:
            problems.append(f"{where(path + ('expect',))}: steps[{index}].expect: outcome, reply and attempts "
                            "describe a callback; name it with callback: invoice|change|seller-cancellation")
            continue
        steps.append(Step(index=index, line=lines.line(path) if lines else None, action=action,
                          args=dict(raw.get(action) or {}) if action else {},
                          after=parse_duration(raw.get("after", 0)), expect_error=raw.get("expect-error"),
                          stub=raw.get("stub")))
    if problems:
        raise ScenarioError(problems)
    return Scenario(name=data["name"], description=data["description"].strip(), kind=data.get("kind", "conformance"),
                    order=dict(data.get("order") or {}), steps=tuple(steps), source=source)


def _duration_problems(raw: dict[str, Any], path: tuple) -> list[tuple[tuple, str]]:
    """The step's durations (its ``after``, its stub replies' ``delay``) that the schema's pattern
    lets through but that are too long to schedule."""
    durations = [(path + ("after",), raw["after"])] if "after" in raw else []
    for kind, replies in (raw.get("stub") or {}).items():
        durations += [(path + ("stub", kind, i, "delay"), reply["delay"])
                      for i, reply in enumerate(replies) if isinstance(reply, dict) and "delay" in reply]
    found = []
    for at, value in durations:
        try:
            parse_duration(value)
        except ValueError as exc:
            found.append((at, str(exc)))
    return found


def load_scenario(path: str | Path, registry: SchemaRegistry | None = None) -> Scenario:
    try:
        located = yamlfile.load_file(str(path))
    except yamlfile.YamlError as exc:
        raise ScenarioError([str(exc)]) from None
    return parse_scenario(located.data, str(path), located, registry)


def scenario_files(directory: str | Path) -> list[Path]:
    folder = Path(directory)
    if not folder.is_dir():
        raise ScenarioError([f"{directory}: not a folder of scenario files"])
    # Not only regular files: a link to nothing is reported (cannot read), not silently left out.
    return sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and not p.is_dir())


def load_scenarios(directories: list[str | Path], registry: SchemaRegistry | None = None) -> dict[str, Scenario]:
    """Every scenario in the folders, by name; every problem in every file is reported at once."""
    registry = registry or default_registry()
    problems: list[str] = []
    found: dict[str, Scenario] = {}
    for directory in directories:
        try:
            files = scenario_files(directory)
        except ScenarioError as exc:
            problems.extend(exc.problems)
            continue
        for path in files:
            try:
                scenario = load_scenario(path, registry)
            except ScenarioError as exc:
                problems.extend(exc.problems)
                continue
            if scenario.name in found:
                problems.append(f"{path}: name {scenario.name!r} is also used by {found[scenario.name].source}")
                continue
            found[scenario.name] = scenario
    if problems:
        raise ScenarioError(problems)
    return found
