"""``moisim validate FILE…``: check scenario and configuration files without running anything.

A file with ``steps`` is a scenario; anything else is taken for a configuration file. Every
problem is printed with its file and line; the exit status is 0 only if every file is valid.
"""

from __future__ import annotations

import sys
from typing import Sequence

from simulator import yamlfile
from simulator.config import ConfigError, load_config
from simulator.scenarios.model import ScenarioError, load_scenario
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
    bad = 0
    for path in paths:
        try:
            what = validate_file(path)
        except (ScenarioError, ConfigError) as exc:
            bad += 1
            for problem in exc.problems:
                print(problem if problem.startswith(path) else f"{path}: {problem}", file=sys.stderr)
            continue
        print(f"{path}: ok, {what}")
    if bad:
        print(f"{bad} of {len(paths)} file(s) invalid", file=sys.stderr)
    return 1 if bad else 0
