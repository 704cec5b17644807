"""Structured logs: one JSON object per line, whatever the fields hold."""

from __future__ import annotations

import json
import logging

from simulator.logs import JsonFormatter


def record(message: str, fields: dict | None = None, exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError("boom")
        except ValueError:
            import sys

            exc_info = sys.exc_info()
    rec = logging.LogRecord("moisim.test", logging.INFO, __file__, 1, message, None, exc_info)
    if fields is not None:
        rec.fields = fields
    return rec


def test_a_record_is_one_json_line_with_its_fields() -> None:
    line = JsonFormatter().format(record("callback invoice", {"deliveryId": 7, "url": "http://m/ã", "error": None}))
    assert "\n" not in line
    entry = json.loads(line)
    assert (entry["level"], entry["logger"], entry["message"]) == ("info", "moisim.test", "callback invoice")
    assert (entry["deliveryId"], entry["url"], entry["error"]) == (7, "http://m/ã", None)


def test_values_json_cannot_hold_are_written_as_text_not_lost() -> None:
    odd = {"object": object(), "big": 2 ** 70, "keys": {1: "one"}}
    entry = json.loads(JsonFormatter().format(record("odd", odd)))
    assert entry["big"] == 2 ** 70 and entry["keys"] == {"1": "one"} and entry["object"].startswith("<object")


def test_an_exception_is_in_the_same_line() -> None:
    line = JsonFormatter().format(record("failed", exc=True))
    assert "\n" not in line and "ValueError: boom" in json.loads(line)["exception"]
