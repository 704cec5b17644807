"""The schema registry: every file well-formed, and the jsonschema-rs gate agreeing with jsonschema."""

from __future__ import annotations

import datetime
import json
import random
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from simulator.schemas import SCHEMA_BASE, SchemaRegistry, default_registry
from tests import seeds
from tests.mutations import mutations

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"


def test_every_schema_file_is_2020_12_with_its_id() -> None:
    for file in SCHEMA_DIR.glob("*.json"):
        doc = json.loads(file.read_text())
        assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema", file.name
        assert doc["$id"] == f"{SCHEMA_BASE}{file.name}"
        Draft202012Validator.check_schema(doc)


def test_the_registry_is_built_once() -> None:
    assert default_registry() is default_registry()


CORPUS = {
    "place-order.request": seeds.place_body(),
    "authorization.request": seeds.authorization_body(),
    "invoice.request": seeds.invoice_body(),
    "tracking.request": {"trackingNumber": "T", "trackingUrl": "http://t", "courier": "c", "dispatchedDate": None},
    "change.request": {"requestId": "r", "reason": "x", "discountValue": 0, "incrementValue": 1,
                       "itemsAdded": [{"id": "8", "quantity": 1, "price": 12}],
                       "itemsRemoved": [{"sellerItemId": "36", "quantity": 1, "price": 120}]},
    "cancel.request": {"reason": "r", "requestedByUser": True},
    "invoice.reply": {"date": "d", "orderId": "o", "receipt": "r"},
    "change.reply": {"orderId": "o", "receipt": "r"},
    "clock-advance.request": {"seconds": 60},
}


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_the_gate_agrees_with_jsonschema(name: str) -> None:
    registry = SchemaRegistry()
    authority = registry.validator(name)
    rng = random.Random(f"moisim-{name}")
    gate_passed = 0
    for body in [CORPUS[name], *mutations(CORPUS[name], rng, 1500)]:
        # findings() trusts the gate's "valid"; a "not valid" is judged again by jsonschema
        assert (not registry.findings(name, body)) == authority.is_valid(body), f"{name}: {json.dumps(body)[:300]}"
        gate_passed += registry.gate(name).is_valid(body)
    assert registry.gate(name).is_valid(CORPUS[name])
    assert gate_passed > 50  # the comparison above ran on the gate's own answers, not only jsonschema's (96 for the
    # smallest body, clock-advance's, whose only value few odd values replace validly)


def test_a_value_the_gate_cannot_take_is_judged_by_jsonschema() -> None:
    registry = default_registry()
    body = seeds.invoice_body("nf-1", 132)
    body["courier"] = "\ud800"  # a lone surrogate (a %-escape in a URL can make one): Rust strings refuse it
    assert registry.findings("invoice.request", body) == []
    body["invoiceValue"] = datetime.date(2026, 1, 1)  # YAML scenarios can hold dates
    [finding] = registry.findings("invoice.request", body)
    assert finding.where == "invoiceValue"


@pytest.mark.parametrize("document,problem", [
    ({"type": "nonsense"}, "not a valid JSON Schema"),
    ({"type": "object", "$id": "https://moisim.dev/schemas/other.json"}, "$id must be"),
    ({"type": "object", "$schema": "http://json-schema.org/draft-07/schema#"}, "$schema must be"),
])
def test_a_bad_schema_file_stops_the_registry_and_names_the_file(tmp_path: Path, document: dict, problem: str) -> None:
    (tmp_path / "thing.json").write_text(json.dumps(
        {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": f"{SCHEMA_BASE}thing.json", **document}))
    with pytest.raises(ValueError, match="thing.json") as raised:
        SchemaRegistry(tmp_path)
    assert problem in str(raised.value)


def test_a_schema_file_that_is_not_json_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "broken.json").write_text('{"type": "object",}')
    with pytest.raises(ValueError, match=r"broken\.json: not JSON"):
        SchemaRegistry(tmp_path)


@pytest.mark.parametrize("value,shown", [(None, "null"), (True, "true"), ("10", '"10"'), ({"a": 1}, '{"a": 1}')])
def test_findings_show_the_value_as_json_not_as_python(value, shown) -> None:
    """The client wrote JSON: a message says null, not None; "10", not '10'."""
    [finding] = default_registry().findings("clock-advance.request", {"seconds": value})
    assert str(finding) == f"seconds: {shown} is not of type 'number'"
