"""VTEX timestamps: what iso() writes and parse_iso() reads back."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from simulator.clock import iso, parse_iso


@pytest.mark.parametrize("text,expected", [
    ("2026-11-23T08:57:39.1234560+00:00", "2026-11-23T08:57:39.1234560+00:00"),  # iso()'s own form
    ("2026-11-23T08:57:39.1234567+00:00", "2026-11-23T08:57:39.1234560+00:00"),  # a seventh digit is dropped
    ("2026-11-23T08:57:39.12+02:00", "2026-11-23T06:57:39.1200000+00:00"),       # fraction and offset
    ("2026-11-23T08:57:39.1234567-03:00", "2026-11-23T11:57:39.1234560+00:00"),
    ("2026-11-23T08:57:39.5Z", "2026-11-23T08:57:39.5000000+00:00"),
    ("2026-11-23T08:57:39Z", "2026-11-23T08:57:39.0000000+00:00"),
    ("2026-11-23T08:57:39", "2026-11-23T08:57:39.0000000+00:00"),                 # no offset: UTC
    ("2026-11-23T08:57:39.1234560 02:00", "2026-11-23T06:57:39.1234560+00:00"),   # "+" unescaped in a URL
])
def test_parse_iso_reads_fractions_and_offsets(text: str, expected: str) -> None:
    assert iso(parse_iso(text)) == expected


def test_iso_round_trips_and_converts_to_utc() -> None:
    moment = datetime(2026, 11, 23, 5, 57, 39, 123456, tzinfo=timezone(timedelta(hours=-3)))
    assert iso(moment) == "2026-11-23T08:57:39.1234560+00:00"
    assert parse_iso(iso(moment)) == moment
    assert iso(None) is None


@pytest.mark.parametrize("text", ["yesterday", "2026-13-01T00:00:00Z", "2026-11-23T08:57:39.+00:00x",
                                  # written right, but no moment in UTC (an OverflowError, and a 500, before)
                                  "0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"])
def test_parse_iso_rejects_what_is_not_a_time(text: str) -> None:
    with pytest.raises(ValueError):
        parse_iso(text)
