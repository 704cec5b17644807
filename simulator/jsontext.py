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
    """Parse JSON moisim wrote; raises :class:`JSONDecodeError` (with line and column) on bad input.
    What :func:`dumps` left to the standard library (a lone surrogate, escaped) orjson refuses to
    read back; the standard library reads it, so whatever was stored can be read."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        try:
            return json.loads(text)
        except ValueError:
            pass
        raise


# How deep arrays and objects may nest in JSON that comes from outside: .NET's JSON readers (VTEX's
# stack) stop at 64 by default too. orjson reads up to 1,024 levels, but jsonschema's messages and
# the standard library's encoder recurse once a level and hit Python's recursion limit near 1,000.
MAX_DEPTH = 64


class TooDeep(ValueError):
    """JSON nested deeper than :data:`MAX_DEPTH`; ``path`` leads to the first value too deep."""

    def __init__(self, path: tuple) -> None:
        super().__init__(f"arrays and objects nested more than {MAX_DEPTH} levels deep")
        self.path = path


def loads_foreign(text: str | bytes) -> Any:
    """Parse JSON that came from outside moisim (a request body, a marketplace's reply): as
    :func:`loads`, and raises :class:`TooDeep` where it nests more than :data:`MAX_DEPTH` levels.
    Only a text with that many brackets is walked: a placement has about a dozen, one of 100 items
    about 200 (its walk takes 60 us)."""
    value = orjson.loads(text)
    brackets = text.count(b"[") + text.count(b"{") if isinstance(text, bytes) else text.count("[") + text.count("{")
    if brackets > MAX_DEPTH and _deeper_than(value, MAX_DEPTH):
        raise TooDeep(_path_deeper_than(value, MAX_DEPTH))
    return value


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether arrays and objects nest more than ``limit`` levels deep (the outermost is level 1):
    a level at a time, keeping no paths."""
    level = [value] if type(value) in (dict, list) else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return True
        inner = []
        for node in level:
            for child in node.values() if type(node) is dict else node:
                if type(child) is dict or type(child) is list:
                    inner.append(child)
        level = inner
    return False


def _path_deeper_than(value: Any, limit: int) -> tuple:
    """The path to the first array or object nested more than ``limit`` levels deep in ``value``,
    which :func:`_deeper_than` found to have one."""
    pending: list[tuple[Any, tuple]] = [(value, ())]
    while pending:
        node, path = pending.pop()
        if len(path) >= limit:
            return path
        pairs = node.items() if isinstance(node, dict) else enumerate(node)
        children = [(child, path + (key,)) for key, child in pairs if isinstance(child, (dict, list))]
        pending.extend(reversed(children))  # the first in the text is walked first
    raise AssertionError("no value is nested that deep")
