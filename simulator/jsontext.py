"""JSON text in and out, one place for the whole simulator.

orjson encodes an order document about ten times faster than the standard library, and JSON
encoding was the largest single cost of a placement. Where orjson refuses a value the standard
library accepts (an integer beyond 64 bits, a non-string key, a lone surrogate that came in
through a URL), the standard library writes it instead, escaped to ASCII so SQLite can store it.
"""

from __future__ import annotations

import json
from typing import Any, Callable

import orjson

JSONDecodeError = json.JSONDecodeError  # orjson's error is a subclass: msg, pos, lineno, colno


def dumps_bytes(value: Any) -> bytes:
    """Compact UTF-8 JSON."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, separators=(",", ":")).encode()


def dumps(value: Any, *, default: Callable[[Any], Any] | None = None) -> str:
    """Compact JSON text; ``default`` turns what JSON cannot hold into something it can. Keys
    need not be strings (the log's fields may have others)."""
    try:
        return orjson.dumps(value, default=default, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return json.dumps(value, separators=(",", ":"), default=default)


def loads(text: str | bytes) -> Any:
    """Parse JSON; raises :class:`JSONDecodeError` (with line and column) on bad input."""
    return orjson.loads(text)
