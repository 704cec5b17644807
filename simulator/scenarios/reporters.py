"""Reporters: a readable console summary and JUnit XML that CI systems render."""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TextIO

from simulator.scenarios.events import (Event, RunFinished, RunStarted, ScenarioFinished, ScenarioStarted,
                                        StepFinished)


class ConsoleReporter:
    """One progress line per scenario, its failures under it, and a summary."""

    def __init__(self, stream: TextIO | None = None, verbose: bool = False) -> None:
        self.stream = stream or sys.stdout
        self.verbose = verbose
        self._count = 0
        self._total = 0

    def _print(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def handle(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self._total = event.scenarios
            self._print(f"moisim conformance: {event.scenarios} scenario(s) against {event.target} (via {event.server})")
        elif isinstance(event, ScenarioStarted):
            self._count += 1
        elif isinstance(event, StepFinished) and self.verbose:
            mark = "ok  " if event.ok else "FAIL"
            self._print(f"      {mark} step {event.index + 1} {event.label}")
        elif isinstance(event, ScenarioFinished):
            mark = "PASS" if event.ok else ("ERROR" if event.error else "FAIL")
            self._print(f"[{self._count}/{self._total}] {mark:5} {event.name} ({event.kind}, {event.seconds:.2f}s)")
            for line in ([event.error] if event.error else []) + list(event.failures):
                self._print(f"        {line}")
        elif isinstance(event, RunFinished):
            verdict = "all passed" if not event.failed else f"{event.failed} failed"
            self._print(f"{event.passed} passed, {event.failed} failed in {event.seconds:.2f}s: {verdict}")


class JUnitReporter:
    """One <testcase> per scenario in one <testsuite>, written when the run finishes."""

    def __init__(self, path: str | Path, suite: str = "moisim conformance") -> None:
        self.path = Path(path)
        self.suite = suite

    def check_writable(self) -> None:
        """Raise OSError now, before a run, where the report could not be written after it: a
        folder, a path under a file, a place without permission. Leaves an empty report."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.open("w", encoding="utf-8").close()

    def handle(self, event: Event) -> None:
        if isinstance(event, RunFinished):
            self.write(event)

    def write(self, run: RunFinished) -> None:
        errors = sum(1 for r in run.results if r.error)
        suite = ET.Element("testsuite", name=self.suite, tests=str(len(run.results)),
                           failures=str(run.failed - errors), errors=str(errors), skipped="0",
                           time=f"{run.seconds:.3f}")
        for result in run.results:
            case = ET.SubElement(suite, "testcase", classname=f"moisim.{result.kind}", name=result.name,
                                 file=result.source, time=f"{result.seconds:.3f}")
            if result.error:
                ET.SubElement(case, "error", message=result.error).text = result.error
            elif not result.ok:
                ET.SubElement(case, "failure", message=result.failures[0] if result.failures else "failed").text = \
                    "\n".join(result.failures)
        root = ET.Element("testsuites", tests=str(len(run.results)), failures=str(run.failed - errors),
                          errors=str(errors), time=f"{run.seconds:.3f}")
        root.append(suite)
        ET.indent(root)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        ET.ElementTree(root).write(self.path, encoding="utf-8", xml_declaration=True)
