"""``moisim validate FILE…``: check scenario and configuration files without running anything.
A folder stands for its .yaml and .yml files.

A file with ``steps`` is a scenario; anything else is taken for a configuration file. Every
problem is printed with its file and line; the exit status is 0 only if every file is valid.
"""

from __future__ import annotations

import os
import sys
from typing import Sequence

from simulator import yamlfile
from simulator.config import ConfigError, load_config
from simulator.scenarios.model import ScenarioError, load_scenario, scenario_files
from simulator.scenarios.playback import scenarios_for
from simulator.schemas import default_registry


def validate_file(path: str) -> str:
    """What the file is, if valid; raises ``ScenarioError`` or ``ConfigError`` otherwise."""
    try:
        data = yamlfile.load_file(path).data
    except yamlfile.YamlError as exc:
        raise ScenarioError([str(exc)]) from None
    if isinstance(data, dict) and "steps" in data:
        scenario = load_scenario(path)
        return f"scenario {scenario.name} ({scenario.kind}, {len(scenario.steps)} steps)"
    config = load_config(path)
    scenarios_for(config, default_registry())  # the scenarios its bindings name exist and are valid
    return f"configuration (account {config.account}, {len(config.bindings)} binding(s))"


def validate_files(paths: Sequence[str]) -> int:
    """Check each file (a folder: each of its .yaml and .yml files, as --scenarios reads one) and
    print what it is or every problem; 0 only if all are valid."""
    checked = bad = 0
    for path in paths:
        files = [str(p) for p in scenario_files(path)] if os.path.isdir(path) else [path]
        if not files:
            checked, bad = checked + 1, bad + 1
            print(f"{path}: a folder without .yaml or .yml files", file=sys.stderr)
        for file in files:
            checked += 1
            bad += not _report(file)
    if bad:
        print(f"{bad} of {checked} file(s) invalid", file=sys.stderr)
    return 1 if bad else 0


def _report(path: str) -> bool:
    try:
        what = validate_file(path)
    except (ScenarioError, ConfigError) as exc:
        for problem in exc.problems:
            print(problem if problem.startswith(path) else f"{path}: {problem}", file=sys.stderr)
        return False
    print(f"{path}: ok, {what}")
    return True
