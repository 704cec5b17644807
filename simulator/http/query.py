"""Query-string values that every route reads alike: integers in a range, and names a route does
not read, refused rather than ignored."""

from __future__ import annotations

from typing import Iterable, Mapping

from simulator.domain.errors import BadRequest


def int_param(query: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    """``query[name]`` as an integer from ``low`` to ``high``; ``default`` when absent or empty."""
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest("SIM008", f"Invalid query parameter {name}={raw!r}: an integer is expected") from None
    if not low <= value <= high:
        raise BadRequest("SIM008", f"Invalid query parameter {name}={raw!r}: it must be between {low} and {high}")
    return value


def only(query: Mapping[str, str], names: Iterable[str], route: str) -> None:
    """Refuse a parameter ``route`` does not read: a misspelt filter (``orderid``) would otherwise
    answer as if there were none."""
    known = tuple(names)
    for name in query:
        if name not in known:
            reads = ", ".join(known) if known else "no parameters"
            raise BadRequest("SIM008", f"Invalid query parameter {name}: {route} reads {reads}")
