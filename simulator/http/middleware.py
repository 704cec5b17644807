"""Per-request concerns: VTEX-shaped errors, authentication and roles, the inbound journal."""

from __future__ import annotations

import hmac
import logging
from typing import Any, Awaitable, Callable

from aiohttp import web

from simulator.clock import iso
from simulator.domain.errors import VtexError
from simulator.http import keys
from simulator.http.bodies import encoding_of
from simulator.http.render import json_response
from simulator.store.base import Kept

log = logging.getLogger("moisim.http")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ROLE, ACCOUNT = keys.ROLE, keys.ACCOUNT
MAX_JOURNAL_TEXT = 64 * 1024


def allow(*roles: str) -> Callable[[Handler], Handler]:
    """Mark a handler with the roles that may call it (admin may call everything)."""

    def mark(handler: Handler) -> Handler:
        handler.roles = frozenset(roles) | {"admin"}  # type: ignore[attr-defined]
        return handler

    return mark


def error_response(status: int, code: str, message: str) -> web.Response:
    return json_response({"error": {"code": code, "message": message, "exception": None}}, status=status)


_HTTP_CODES = {404: ("SIM003", "Not found"), 405: ("SIM004", "Method not allowed"),
               413: ("SIM005", "Request body too large")}


@web.middleware
async def errors_and_journal(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Outermost: whatever happens, the client gets VTEX's error body and the journal a record."""
    notes = request[keys.NOTES] = keys.JournalNotes()
    try:
        response = await handler(request)
    except VtexError as exc:
        response = json_response(exc.body(), status=exc.status)
    except web.RequestPayloadError as exc:  # a body that does not decode: gzip that is not, broken chunks
        response = error_response(400, "SIM001", f"Invalid JSON: the body could not be read ({payload_error(exc)})")
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code, text = _HTTP_CODES.get(exc.status, (f"SIM{exc.status}", exc.reason))
        if exc.status == 413:
            limit = request.app[keys.CONFIG].max_body_bytes
            message = f"{text}: the limit is {limit} bytes"
        elif exc.status == 405:
            message = f"{text}: {request.method} {request.path}"
        else:
            message = f"{text}: no route {request.method} {request.path}{await _slash_hint(request)}"
        response = error_response(exc.status, code, message)
    except Exception:
        log.exception("unhandled error", extra={"fields": {"method": request.method, "path": request.path}})
        response = error_response(500, "SIM500", "Internal error in moisim; the log has the details")
    if not request.path.startswith("/_sim"):
        _journal(request, response, notes)
    try:
        await request.app[keys.STORE].durable()  # nothing is answered before it is on disk
    except Exception:
        log.exception("commit failed", extra={"fields": {"method": request.method, "path": request.path}})
        response = error_response(500, "SIM500", "Internal error in moisim: the change could not be stored")
    return response


async def _slash_hint(request: web.Request) -> str:
    """For a path that has a route once its trailing slashes go, a hint that says so."""
    path = request.path.rstrip("/")
    if not path or path == request.path:
        return ""
    try:
        match = await request.app.router.resolve(request.clone(rel_url=request.rel_url.with_path(path)))
    except Exception:  # a hint must never break an error reply
        return ""
    return "" if match.http_exception is not None else f" (without the trailing slash: {path})"


def payload_error(exc: BaseException) -> str:
    """What aiohttp found wrong with a request body, on one line."""
    return " ".join(str(exc.__cause__ or exc).split()).removeprefix("400, message: ")


def _journal(request: web.Request, response: web.StreamResponse, notes: keys.JournalNotes) -> None:
    app = request.app
    raw = notes.raw_body
    reply = response.body if isinstance(response, web.Response) else None
    try:
        entry: dict[str, Any] = {
            "method": request.method, "path": request.path, "query": dict(request.query),
            "appKey": notes.app_key, "role": notes.role, "status": response.status,
            "findings": [f.to_json() for f in notes.findings],
        }
        match = request.match_info
        placement = notes.reply_is_placement and response.status == 200
        app[keys.STORE].journal_add(
            notes.account or app[keys.CONFIG].account, iso(app[keys.CLOCK].now()) or "", "in",
            match.route.name or "unrouted", notes.order_id or match.get("orderId"), entry,
            body=_text(_decoded(raw, request.charset) if raw else None),
            reply=Kept.PLACEMENT if placement else _text(reply.decode("utf-8", "replace") if isinstance(reply, bytes)
                                                         else None))
    except Exception:  # the journal must never break a reply
        log.exception("could not journal a request")


def _decoded(raw: bytes, charset: str | None) -> str:
    """The body as text, in the charset it was read in (``bodies.encoding_of``; UTF-8 for one Python
    does not know); bytes that do not decode become U+FFFD, so the journal keeps the rest."""
    raw, charset = encoding_of(raw, charset)
    try:
        return raw.decode(charset or "utf-8", "replace")
    except LookupError:
        return raw.decode("utf-8", "replace")


def _text(value: str | None) -> str | None:
    """Bodies are journaled as the text that crossed the wire; GET /_sim/journal parses them."""
    if not value:
        return None
    if len(value) > MAX_JOURNAL_TEXT:
        return value[:MAX_JOURNAL_TEXT] + f"... ({len(value)} characters)"
    return value


@web.middleware
async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    """401 without a known key pair, 403 when the key's role may not call the route."""
    roles = getattr(request.match_info.handler, "roles", None)
    if roles is None:  # public routes (health, schemas) and unmatched ones (404/405)
        return await handler(request)
    app_key = request.headers.get("X-VTEX-API-AppKey")
    app_token = request.headers.get("X-VTEX-API-AppToken")
    credential = request.app[keys.CREDENTIALS].get(app_key or "")
    if credential is None or app_token is None or not _same(credential.app_token, app_token):
        return error_response(401, "1", "Unauthorized access: send a valid X-VTEX-API-AppKey and X-VTEX-API-AppToken")
    notes = request[keys.NOTES]
    notes.app_key, notes.role = app_key, credential.role
    request[ROLE] = credential.role
    request[ACCOUNT] = notes.account = request.app[keys.CONFIG].account
    if credential.role not in roles:
        allowed = ", ".join(sorted(roles - {"admin"})) or "admin"
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else request.path
        return error_response(403, "SIM006", f"Forbidden: the {credential.role} role may not call "
                                             f"{request.method} {route} (allowed: {allowed})")
    return await handler(request)


def _same(a: str, b: str) -> bool:
    # aiohttp decodes a header that is not UTF-8 with surrogateescape: encode it back the same way
    return hmac.compare_digest(a.encode("utf-8", "surrogateescape"), b.encode("utf-8", "surrogateescape"))
