"""Time as an injected dependency: the domain never calls ``datetime.now`` itself.

``RealClock`` follows the wall clock; ``VirtualClock`` stands still until it is advanced, so a
30-minute cancellation window can pass in one request. Both hand out aware UTC datetimes.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Protocol

UTC = timezone.utc
# A virtual clock stops here: what moisim schedules lies at most ten years ahead of it
# (durations.MAX_SECONDS), and Python's datetimes end with the year 9999.
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


class Clock(Protocol):
    kind: str

    def now(self) -> datetime: ...


class RealClock:
    kind = "real"

    def now(self) -> datetime:
        return datetime.now(UTC)


class VirtualClock:
    """A clock that only moves when told to. It starts at the wall-clock time of its creation
    (or at ``start``) so timestamps still look like real ones."""

    kind = "virtual"

    def __init__(self, start: datetime | None = None) -> None:
        self._now = (start or datetime.now(UTC)).astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> datetime:
        if seconds < 0:
            raise ValueError("a clock cannot go backwards")
        if seconds > self.room():
            raise ValueError(f"a virtual clock stops at {LATEST.isoformat()}")
        self._now += timedelta(seconds=seconds)
        return self._now

    def room(self) -> float:
        """Seconds the clock may still be advanced (until :data:`LATEST`)."""
        return (LATEST - self._now).total_seconds()

    def set(self, moment: datetime) -> None:
        self._now = moment.astimezone(UTC)


def make_clock(kind: str) -> RealClock | VirtualClock:
    if kind == "virtual":
        return VirtualClock()
    if kind == "real":
        return RealClock()
    raise ValueError(f"unknown clock {kind!r}: use 'real' or 'virtual'")


def iso(moment: datetime | None) -> str | None:
    """VTEX's timestamp form: ISO 8601 with a UTC offset and seven fraction digits."""
    if moment is None:
        return None
    return _iso(moment)


@lru_cache(maxsize=1024)
def _iso(moment: datetime) -> str:
    # One request formats the same few moments a dozen times (creation, last change, each move),
    # hence the cache. isoformat is several times faster than strftime; VTEX shows seven digits.
    if moment.utcoffset():
        moment = moment.astimezone(UTC)
    return moment.replace(tzinfo=None).isoformat(timespec="microseconds") + "0+00:00"


def parse_iso(text: str) -> datetime:
    """Parse what :func:`iso` writes (and any ISO 8601 form Python accepts); ``ValueError`` for
    anything else, including a moment that has no date in UTC."""
    if len(text) == 33 and text[19] == "." and text.endswith("+00:00"):  # iso()'s own form, the usual case
        return _parse_own(text)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    elif len(text) > 6 and text[-6] == " " and text[-3] == ":":  # a "+" in a query string arrives as a space
        text = text[:-6] + "+" + text[-5:]
    # VTEX writes seven fraction digits; Python reads at most six.
    head, sep, tail = text.partition(".")
    if sep:
        digits = tail[:len(tail) - len(tail.lstrip("0123456789"))]
        rest = tail[len(digits):]
        text = f"{head}.{digits[:6].ljust(6, '0')}{rest}"
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+05:00, 9999-12-31T23:59-05:00: no such moment in UTC
        raise ValueError(f"{text!r} falls outside the years 1 to 9999 in UTC") from None


@lru_cache(maxsize=1024)
def _parse_own(text: str) -> datetime:
    return datetime.fromisoformat(text[:26]).replace(tzinfo=UTC)  # Python reads six fraction digits of seven
