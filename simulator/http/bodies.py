"""Reading request bodies: JSON parsing that says where it broke, schema validation that names
the field, and VTEX's error code for the field where VTEX has one."""

from __future__ import annotations

import codecs
import logging
from typing import Any

from aiohttp import web

from simulator.domain.errors import BadRequest
from simulator import jsontext
from simulator.http import keys
from simulator.schemas import Finding, SchemaRegistry
from simulator.yamlfile import json_path

log = logging.getLogger("moisim.http")


async def read_json(request: web.Request, schemas: SchemaRegistry, schema: str, *, optional: bool = False) -> Any:
    raw = await read_body(request)
    notes = request[keys.NOTES]
    notes.raw_body = raw
    if not raw.strip():
        if optional:
            return None
        raise BadRequest("SIM001", "Invalid JSON: the request body is empty; this route needs a JSON object")
    body = parse_json(raw, request.charset)
    findings = schemas.findings(schema, body)
    if findings:
        notes.findings = findings  # kept for the journal
        raise error_for(schema, findings)
    if _may_hold_whole_floats(body):
        whole_numbers_as_int(body)
    return body


async def read_body(request: web.Request) -> bytes:
    """The body's bytes. While they arrive, the connection is in ``keys.READING``, for a stop to
    close rather than wait for."""
    reading, transport = request.app[keys.READING], request.transport
    if transport is not None:
        reading.add(transport)
    try:
        return await request.read()  # over client_max_size aiohttp raises 413 itself
    except ConnectionError:  # the client hung up (or a stop cut it off) before the body was whole
        log.info("a request's body was cut short: the connection closed before it arrived",
                 extra={"fields": {"method": request.method, "path": request.path}})
        raise BadRequest("SIM001", "Invalid JSON: the connection closed before the whole body arrived") from None
    finally:
        if transport is not None:
            reading.discard(transport)


def _may_hold_whole_floats(document: Any) -> bool:
    """Whether a number written with a zero fraction or an exponent (12.0, 1.2e1) may be in the
    document. orjson writes such a float back in one form, ending ".0" before "," "}" or "]" (up
    to 1e16, past any amount or quantity the schemas accept); a string holding those characters
    only costs a walk that changes nothing. Checking the
    re-encoded text (1 us for a placement) beats walking the document (7 us) or searching the raw
    body, where the seed's own SLA id "14b25e5" looks like an exponent."""
    text = jsontext.dumps_bytes(document)
    return b".0," in text or b".0}" in text or b".0]" in text


def whole_numbers_as_int(document: Any) -> None:
    """12.0 is an integer to JSON Schema (so the schemas let it through where they ask for one)
    and to VTEX; moisim counts money in int cents, so a whole number written with a fraction or
    an exponent is made the integer it is, in place. Other floats stay as they are."""
    pending = [document]
    while pending:
        node = pending.pop()
        pairs = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, value in pairs:
            if type(value) is float:
                if value.is_integer():
                    node[key] = int(value)
            elif isinstance(value, (dict, list)):
                pending.append(value)


# A byte order mark names its encoding, and it wins over the Content-Type's charset: so .NET reads
# a body (VTEX's stack), and RFC 8259 lets a parser ignore the mark rather than refuse the text.
_BOMS = ((codecs.BOM_UTF8, None), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def encoding_of(raw: bytes, charset: str | None) -> tuple[bytes, str | None]:
    """(the body, the charset to read it in; None: UTF-8): the one its byte order mark names, if it
    starts with one (a UTF-8 mark is taken off), else the Content-Type's."""
    if raw[:1] in (b"\xef", b"\xff", b"\xfe"):
        for bom, codec in _BOMS:
            if raw.startswith(bom):
                return (raw[len(bom):], None) if codec is None else (raw, codec)
    return raw, charset


def parse_json(raw: bytes, charset: str | None) -> Any:
    """The body as JSON, read as :func:`encoding_of` says."""
    raw, charset = encoding_of(raw, charset)
    text: str | bytes = raw
    if charset and codecs_name(charset) != "utf-8":
        try:
            text = raw.decode(charset)
        except (LookupError, UnicodeDecodeError) as exc:
            raise BadRequest("SIM001", f"Invalid JSON: the body is not {charset} text ({exc})") from None
    try:
        return jsontext.loads_foreign(text)
    except jsontext.TooDeep as exc:
        raise BadRequest("SIM001", f"Invalid JSON: {too_deep_at(exc.path)} {_TOO_DEEP}") from None
    except jsontext.JSONDecodeError as exc:
        if isinstance(text, bytes):
            try:
                text.decode("utf-8")
            except UnicodeDecodeError as bad:
                raise BadRequest("SIM001", f"Invalid JSON: the body is not UTF-8 text (byte {bad.start} is "
                                           f"0x{text[bad.start]:02x}); send UTF-8 or name the charset") from None
        read_as = "" if isinstance(text, bytes) else f" (read as {charset}, the charset the Content-Type names)"
        what = "the body " + _TOO_DEEP if exc.msg == "depth limit exceeded" else exc.msg  # orjson's, past 1,024 levels
        raise BadRequest("SIM001", f"Invalid JSON{read_as} at line {exc.lineno} column {exc.colno} "
                                   f"(character {exc.pos}): {what}") from None


_TOO_DEEP = (f"nests arrays and objects more than {jsontext.MAX_DEPTH} levels deep; moisim reads at most "
             f"{jsontext.MAX_DEPTH}, as .NET's JSON readers do")


def too_deep_at(path: tuple) -> str:
    """Where a too-deep value is, short: its first four steps (``extra[0][0][0]...``)."""
    return json_path(path[:4]) + ("..." if len(path) > 4 else "")


def codecs_name(charset: str) -> str | None:
    try:
        return codecs.lookup(charset).name
    except LookupError:
        return None


# (schema, first path element, second-level field) -> (code, VTEX message)
_ITEM_CODES = {"id": ("CHK0022", "Invalid id for item"), "quantity": ("CHK0023", "Invalid quantity for item"),
               "seller": ("CHK0024", "Invalid seller for item"), "price": ("CHK0025", "Invalid price for item")}
_TOP_CODES = {
    "marketplaceOrderGroup": ("CHK0144", "Invalid marketplace order group"),
    "marketplacePaymentValue": ("CHK0145", "Invalid marketplace payment value or Payment Data"),
    "marketplaceServicesEndpoint": ("CHK0146", "Invalid marketplace services endpoint"),
}


def vtex_code(schema: str, finding: Finding) -> tuple[str, str]:
    path = finding.path
    head = path[0] if path else None
    if schema == "place-order.request":
        if head == "items":
            if len(path) == 1 and finding.validator != "maxItems":  # none, or not a list: VTEX's ORD005
                return "ORD005", "The purchase cannot be done without items"
            if len(path) >= 3 and path[2] in _ITEM_CODES:
                return _ITEM_CODES[path[2]]
        if head == "shippingData":
            if len(path) == 1 and finding.validator == "required":
                return "ORD045", "Shipping data is required"
            return "ORD006", f"The {finding.where} field in the shipping attachment is invalid"
        if head == "clientProfileData":
            return "ORD007", f"The {finding.where} field in the client profile attachment is invalid"
    if head in _TOP_CODES and schema in ("place-order.request", "authorization.request"):
        return _TOP_CODES[head]
    return "SIM002", "Invalid request body"


def error_for(schema: str, findings: list[Finding]) -> BadRequest:
    first = findings[0]
    code, text = vtex_code(schema, first)
    more = f" (and {len(findings) - 1} more problem{'s' if len(findings) > 2 else ''})" if len(findings) > 1 else ""
    return BadRequest(code, f"{text}: {first}{more}")
