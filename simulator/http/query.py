"""Query-string values that every route reads alike: integers in a range; and a parameter given
twice with different values, or one a route does not read, refused rather than half read or
ignored."""

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


def once(query: Mapping[str, str]) -> None:
    """Refuse a parameter given twice with different values: only the first would be read, so
    ``f_status=invoiced&f_status=canceled`` would list the invoiced orders alone. The same value
    twice is no question, and is read."""
    if len(query) < 2:
        return
    values: dict[str, list[str]] = {}
    for name, value in query.items():  # a multidict's keys() and iteration give each name once
        values.setdefault(name, []).append(value)
    for name, given in values.items():
        if len(set(given)) > 1:
            raise BadRequest("SIM008", f"Invalid query parameter {name}: it is given {len(given)} times, as "
                                       f"{', '.join(map(repr, given))}; give it once (a filter's several values go "
                                       "in one, separated by commas)")


def only(query: Mapping[str, str], names: Iterable[str], route: str) -> None:
    """Refuse a parameter ``route`` does not read, or one given twice (:func:`once`): a misspelt
    filter (``orderid``) would otherwise answer as if there were none."""
    once(query)
    known = tuple(names)
    for name in query:
        if name not in known:
            reads = ", ".join(known) if known else "no parameters"
            raise BadRequest("SIM008", f"Invalid query parameter {name}: {route} reads {reads}")
