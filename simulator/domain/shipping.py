"""Shipping estimates in VTEX's notation and the date one falls on.

VTEX writes an SLA's estimate as a count and a unit: ``5bd`` (business days), ``2d`` (days),
``4h`` (hours), ``30m`` (minutes). An order's ``shippingEstimateDate`` is "defined after the
confirmation of the order" (Orders API), so moisim counts it from the order's authorization.
moisim keeps no holiday calendar: business days skip Saturdays and Sundays only, in UTC.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from simulator.clock import iso

if TYPE_CHECKING:
    from simulator.config import Sla

# At most four digits: 9999 business days is 38 years, past any estimate a carrier gives.
PATTERN = r"^([0-9]{1,4})(bd|d|h|m)$"
_ESTIMATE = re.compile(PATTERN)
_CALENDAR = {"d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1)}
_SATURDAY = 5


def estimate_date(start: datetime, estimate: str) -> datetime | None:
    """When ``estimate``, counted from ``start``, runs out; None for an estimate not in VTEX's
    notation (configuration refuses those) or a date past the calendar's end."""
    match = _ESTIMATE.match(estimate)
    if match is None:
        return None
    count, unit = int(match.group(1)), match.group(2)
    try:
        if unit != "bd":
            return start + count * _CALENDAR[unit]
        return _add_business_days(start, count)
    except OverflowError:
        return None


def promised_date(start: datetime, sla: Sla | None) -> str | None:
    """An item's ``shippingEstimateDate`` in VTEX's form: its SLA's estimate counted from ``start``
    (the authorization); None for an SLA the configuration no longer has."""
    return iso(estimate_date(start, sla.shipping_estimate)) if sla is not None else None


def _add_business_days(start: datetime, count: int) -> datetime:
    """``count`` weekdays after ``start``, at the same time of day. Counted from a weekend, the
    first business day is Monday."""
    weeks, rest = divmod(count, 5)
    day = start + timedelta(weeks=weeks)
    if weeks and day.weekday() >= _SATURDAY:
        # Whole weeks from a weekend land on a weekend: the last of those days was the Friday before.
        day -= timedelta(days=day.weekday() - 4)
    for _ in range(rest):
        day += timedelta(days=1)
        while day.weekday() >= _SATURDAY:
            day += timedelta(days=1)
    return day
