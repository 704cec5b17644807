"""Shipping estimates: the date an SLA's estimate falls on, and where orders show it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from simulator.config import ConfigError, load_config
from simulator.domain import shipping
from simulator.domain.shipping import estimate_date
from tests import seeds
from tests.conftest import Sim

MONDAY = datetime(2026, 11, 23, 15, 30, tzinfo=UTC)


def business_days_one_by_one(start: datetime, count: int) -> datetime:
    day = start
    for _ in range(count):
        day += timedelta(days=1)
        while day.weekday() >= 5:
            day += timedelta(days=1)
    return day


@pytest.mark.parametrize("weekday", range(7))
def test_business_days_skip_weekends_from_any_day(weekday: int) -> None:
    start = MONDAY + timedelta(days=weekday)
    for count in range(40):
        assert estimate_date(start, f"{count}bd") == business_days_one_by_one(start, count), (start, count)


def test_calendar_units_and_vtex_examples() -> None:
    friday = MONDAY + timedelta(days=4)
    assert estimate_date(friday, "1bd") == friday + timedelta(days=3)  # Monday
    assert estimate_date(friday, "5bd") == friday + timedelta(days=7)
    assert estimate_date(friday, "0bd") == friday  # a pickup ready at once
    assert estimate_date(friday, "2d") == friday + timedelta(days=2)  # calendar days include the weekend
    assert estimate_date(friday, "4h") == friday + timedelta(hours=4)
    assert estimate_date(friday, "30m") == friday + timedelta(minutes=30)


@pytest.mark.parametrize("estimate", ["", "5", "bd", "5 bd", "5w", "-1bd", "12345bd", "1.5d"])
def test_what_is_not_vtex_notation_has_no_date(estimate: str) -> None:
    assert estimate_date(MONDAY, estimate) is None


def test_a_date_past_the_calendar_has_none() -> None:
    assert estimate_date(datetime(9999, 12, 1, tzinfo=UTC), "9999d") is None
    assert estimate_date(datetime(9999, 12, 1, tzinfo=UTC), "9999bd") is None


def test_configuration_takes_only_vtex_notation(tmp_path: Path) -> None:
    path = tmp_path / "moisim.yaml"
    path.write_text('slas:\n  - {id: Normal, delivery-channel: delivery, shipping-estimate: "5 days"}\n')
    with pytest.raises(ConfigError) as caught:
        load_config(str(path))
    assert ':2: slas[0].shipping-estimate: "5 days" does not match' in str(caught.value)
    assert "5bd (business days)" in str(caught.value)
    schema = json.loads((Path(__file__).parent.parent / "schemas" / "config.json").read_text())
    assert schema["properties"]["slas"]["items"]["properties"]["shipping-estimate"]["pattern"] == shipping.PATTERN


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def test_orders_show_the_estimate_date_once_authorized(sim: Sim) -> None:
    _, health = await sim.call("GET", "/_sim/health")
    now = parse(health["now"])
    friday_noon = (now + timedelta(days=(4 - now.weekday()) % 7 or 7)).replace(hour=12, minute=0, second=0,
                                                                                  microsecond=0)
    await sim.advance((friday_noon - now).total_seconds())

    placed = await sim.place()
    logistics = placed["orders"][0]["shippingData"]["logisticsInfo"]
    assert [li["shippingEstimateDate"] for li in logistics] == [None, None]  # "defined after the confirmation"
    assert [(li["shippingEstimate"], li["transitTime"]) for li in logistics] == [("0bd", "0bd"), ("5bd", "5bd")]
    assert (await sim.call("GET", "/api/oms/pvt/orders"))[1]["list"][0]["ShippingEstimatedDate"] is None

    await sim.authorize(seeds.SEED_ORDER_ID, "externalMarketplace10")
    chain = await sim.order(seeds.SEED_ORDER_ID)
    authorized = parse(chain["authorizedDate"])
    assert authorized == friday_noon
    dates = [parse(li["shippingEstimateDate"]) for li in chain["shippingData"]["logisticsInfo"]]
    assert dates == [friday_noon, friday_noon + timedelta(days=7)]  # the pickup at once; 5bd is next Friday

    # The franchise order counts from its own authorization: the start of its cancellation window.
    franchise = await sim.order(chain["franchiseOrderIds"][0])
    assert franchise["authorizedDate"] == chain["authorizedDate"]
    assert [li["shippingEstimateDate"] for li in franchise["shippingData"]["logisticsInfo"]] == [
        li["shippingEstimateDate"] for li in chain["shippingData"]["logisticsInfo"]]

    # The list shows the day the whole order is due: its latest item's.
    entry = (await sim.call("GET", "/api/oms/pvt/orders"))[1]["list"][0]
    assert parse(entry["ShippingEstimatedDate"]) == friday_noon + timedelta(days=7)


async def test_the_date_is_kept_from_the_authorization_not_worked_out_again(sim: Sim) -> None:
    """An SLA edited after the authorization does not move the dates orders were given; an order
    authorized by an older moisim (no date kept) shows its SLA's estimate as configured now."""
    from dataclasses import replace

    from simulator.config import Sla
    from simulator.domain import render

    await sim.place()
    await sim.authorize(seeds.SEED_ORDER_ID, "externalMarketplace10")
    shown = [li["shippingEstimateDate"] for li in (await sim.order(seeds.SEED_ORDER_ID))["shippingData"]["logisticsInfo"]]
    chain = sim.store.get_order("moisim", seeds.SEED_ORDER_ID)
    assert [item.shipping_estimate_date for item in chain.items] == shown  # kept with the order
    slower = replace(sim.service.config, slas={**sim.service.config.slas, "Normal": Sla("Normal", "delivery", "9bd")})
    assert render.estimate_dates(chain, slower) == shown

    for item in chain.items:
        item.shipping_estimate_date = None  # as an older moisim stored it
    authorized = parse(render.order_json(chain, slower)["authorizedDate"])
    assert render.estimate_dates(chain, slower) == [render.iso(authorized),
                                                    render.iso(estimate_date(authorized, "9bd"))]
