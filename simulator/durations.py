"""Durations as people write them in configuration and scenarios: ``30m``, ``5s``, ``250ms``,
``30d``, ``1h30m``, or a plain number of seconds."""

from __future__ import annotations

import re

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
PATTERN = r"^(\d+(\.\d+)?(ms|s|m|h|d))+$"
MAX_SECONDS = 3650 * 86400  # ten years: timers set this far ahead still have a date (see clock.LATEST)


def parse_duration(value: object) -> float:
    """Seconds in ``value``; raises ``ValueError`` with a readable reason."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration")
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError(f"{value!r} is negative")
        return _at_most_ten_years(value, float(value))
    if not isinstance(value, str) or not value:
        raise ValueError(f"{value!r} is not a duration")
    text = value.strip()
    pos, total = 0, 0.0
    for match in _PART.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(text) or pos == 0:
        raise ValueError(f"{value!r} is not a duration (write e.g. 30m, 5s, 250ms, 30d)")
    return _at_most_ten_years(value, total)


def _at_most_ten_years(value: object, seconds: float) -> float:
    if seconds > MAX_SECONDS:
        raise ValueError(f"{value!r} is longer than ten years (3650d), the longest duration moisim takes")
    return seconds
