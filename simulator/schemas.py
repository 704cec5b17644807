"""The JSON Schema registry: every file under ``schemas/`` loaded once, validators compiled once.

Schemas are data. Each file is one payload, Draft 2020-12, with an ``$id`` of the form
``https://moisim.dev/schemas/<name>.json``; they may ``$ref`` each other by that id.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import jsonschema_rs
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from simulator.yamlfile import json_path

SCHEMA_BASE = "https://moisim.dev/schemas/"
DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"


def data_dir(name: str) -> Path:
    """``schemas/`` or ``scenarios/``: beside the source in a checkout, inside the package
    (``simulator/_<name>``) when installed from a wheel."""
    here = Path(__file__).resolve().parent
    checkout = here.parent / name
    return checkout if checkout.is_dir() else here / f"_{name}"


SCHEMA_DIR = Path(os.environ.get("MOISIM_SCHEMAS", data_dir("schemas")))


@dataclass(frozen=True, slots=True)
class Finding:
    """One schema violation: where (a JSON path), what was there and what was wanted."""

    path: tuple
    message: str
    validator: str

    @property
    def where(self) -> str:
        return json_path(self.path)

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"

    def to_json(self) -> dict[str, str]:
        return {"path": self.where, "message": self.message}


class SchemaRegistry:
    """Two validators per schema, both Draft 2020-12. The gate (jsonschema-rs, compiled Rust) says
    valid / not valid in about 2 us for a placement body, where jsonschema takes ~0.5 ms (and the
    fastjsonschema gate it replaced took 30 us). jsonschema is the authority: it alone reports
    findings, and it judges again every "not valid" from the gate and every value the gate cannot
    take (a lone surrogate, a date from YAML). A gate stricter than jsonschema therefore changes
    nothing; a looser one is what tests/test_schemas.py looks for, on thousands of mutated bodies."""

    def __init__(self, directory: Path = SCHEMA_DIR) -> None:
        self.directory = directory
        self.documents: dict[str, dict[str, Any]] = {}
        by_id: list[tuple[str, dict[str, Any]]] = []
        for file in sorted(directory.glob("*.json")):
            try:
                document = json.loads(file.read_text(encoding="utf-8"))
            except ValueError as exc:
                raise ValueError(f"{file}: not JSON: {exc}") from None
            name = file.name[: -len(".json")]
            expected = f"{SCHEMA_BASE}{file.name}"
            if document.get("$id") != expected:
                raise ValueError(f"{file}: $id must be {expected}")
            if document.get("$schema", DRAFT_2020_12) != DRAFT_2020_12:
                raise ValueError(f"{file}: $schema must be {DRAFT_2020_12}")
            try:  # the meta-schema check in Rust: 1 ms for every file, where jsonschema's took 0.3 s of start-up
                jsonschema_rs.meta.validate(document)
            except jsonschema_rs.ValidationError as exc:
                raise ValueError(f"{file}: not a valid JSON Schema: {exc.message}") from None
            self.documents[name] = document
            by_id.append((expected, document))
        self.registry: Registry = Registry().with_resources(
            (uri, Resource.from_contents(doc, default_specification=DRAFT202012)) for uri, doc in by_id)
        self._validators: dict[str, Draft202012Validator] = {
            name: Draft202012Validator(doc, registry=self.registry) for name, doc in self.documents.items()
        }
        gate_registry = jsonschema_rs.Registry(by_id)
        self._gates: dict[str, jsonschema_rs.Draft202012Validator] = {
            name: jsonschema_rs.Draft202012Validator(doc, registry=gate_registry, validate_formats=False, offline=True)
            for name, doc in self.documents.items()
        }

    def names(self) -> list[str]:
        return sorted(self.documents)

    def validator(self, name: str) -> Draft202012Validator:
        """The authority: jsonschema's validator, which says why."""
        return self._validators[name]

    def gate(self, name: str) -> jsonschema_rs.Draft202012Validator:
        """The fast one: jsonschema-rs's validator, which says only whether."""
        return self._gates[name]

    def findings(self, name: str, instance: Any) -> list[Finding]:
        """Every violation of schema ``name`` by ``instance``, in document order."""
        try:
            if self._gates[name].is_valid(instance):
                return []
        except Exception:  # noqa: BLE001 - a value the gate cannot take (a lone surrogate, a date from YAML)
            pass  # jsonschema decides
        errors = self._validators[name].iter_errors(instance)
        out = [Finding(_path(e), _message(e), e.validator) for e in _leaves(errors)]
        out.sort(key=lambda f: [str(p) for p in f.path])
        return out

    def is_valid(self, name: str, instance: Any) -> bool:
        return not self.findings(name, instance)


def _leaves(errors: Iterator) -> Iterator:
    """Expand oneOf/anyOf failures into the branch errors that say most."""
    for error in errors:
        if error.context and error.validator in ("anyOf", "oneOf"):
            best = min(error.context, key=lambda e: (len(e.context or ()), -len(e.absolute_path)))
            # Report the branch failure only if it points deeper than the parent.
            if len(best.absolute_path) > len(error.absolute_path):
                yield best
                continue
        yield error


def _path(error: Any) -> tuple:
    """The path of the offending value; for a missing property, the path it should have had."""
    path = tuple(error.absolute_path)
    if error.validator == "required" and isinstance(error.instance, dict):
        for name in error.validator_value:
            if name not in error.instance and repr(name) in error.message:
                return path + (name,)
    return path


def _message(error: Any) -> str:
    if error.validator == "required":
        return "is required"
    if error.validator == "additionalProperties":
        return error.message
    if error.validator in ("minItems", "maxItems") and isinstance(error.instance, list):
        # jsonschema's "[{...}, ...] is too long" starts with the array itself, cut off here at 200
        # characters before it says what is wrong; the count and the limit say it at once
        count, limit = len(error.instance), error.validator_value
        wanted = (f"at most {limit} {'is' if limit == 1 else 'are'} allowed" if error.validator == "maxItems"
                  else f"at least {limit} {'is' if limit == 1 else 'are'} required")
        return f"has {count} item{'s' if count != 1 else ''}, where {wanted}"
    described = error.schema.get("description") if isinstance(error.schema, dict) else None
    if error.validator in ("oneOf", "anyOf") and described:
        # "is not valid under any of the given schemas" says nothing; the schema says what it wants
        return f"{_as_json(error.instance)} is not {described}"
    text = error.message
    if error.validator == "pattern" and described:
        text += f" ({described})"  # a regular expression alone is a puzzle; the schema says what it means
    # jsonschema starts most messages with the value as Python writes it (None, True, '10'):
    # a client wrote JSON, so it gets the value back as JSON (null, true, "10").
    python = repr(error.instance)
    if text.startswith(python):
        text = _as_json(error.instance) + text[len(python):]
    return text if len(text) <= 200 else text[:197] + "..."


def _as_json(value: Any) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except ValueError:  # a circular structure cannot come from JSON; say something anyway
        text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


_default: SchemaRegistry | None = None


def default_registry() -> SchemaRegistry:
    """The process-wide registry (built on first use, never rebuilt)."""
    global _default
    if _default is None:
        _default = SchemaRegistry()
    return _default
