"""moisim's own control API under ``/_sim``: health, the clock, schemas, the journal, inspection."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from simulator import jsontext
from simulator.clock import LATEST, VirtualClock, iso, parse_iso
from simulator.domain.errors import BadRequest, Conflict, NotFound
from simulator.http import keys, query
from simulator.http.bodies import read_json
from simulator.http.middleware import ACCOUNT, allow
from simulator.http.render import json_response
from simulator.store.base import JournalEntry

log = logging.getLogger("moisim.http")
# Journal entries read, rendered and written in one turn of the event loop: a place-order entry
# carries its request and its 8.5 KB reply, so 10,000 at once held the loop 4 s and left the
# server at 440 MiB (bench/NOTES.md, stop 27).
JOURNAL_PAGE = 100
JOURNAL_PARAMETERS = ("orderId", "direction", "kind", "since", "after", "limit")


async def health(request: web.Request) -> web.Response:
    app = request.app
    return json_response({"status": "ok", "clock": app[keys.CLOCK].kind, "now": iso(app[keys.CLOCK].now())})


async def list_schemas(request: web.Request) -> web.Response:
    return json_response({"schemas": [f"{name}.json" for name in request.app[keys.SCHEMAS].names()]})


async def get_schema(request: web.Request) -> web.Response:
    name = request.match_info["name"].removesuffix(".json")
    documents = request.app[keys.SCHEMAS].documents
    if name not in documents:
        raise NotFound("SIM011", f"No schema {name!r}; GET /_sim/schemas lists them")
    return json_response(documents[name])


@allow("admin")
async def get_clock(request: web.Request) -> web.Response:
    clock = request.app[keys.CLOCK]
    return json_response({"clock": clock.kind, "now": iso(clock.now())})


@allow("admin")
async def advance_clock(request: web.Request) -> web.Response:
    """Move the virtual clock on; every transition that falls due is applied before the reply."""
    app = request.app
    body = await read_json(request, app[keys.SCHEMAS], "clock-advance.request")
    clock = app[keys.CLOCK]
    if not isinstance(clock, VirtualClock):
        raise Conflict("SIM010", "The clock is real; start moisim with --clock virtual to advance it")
    if body["seconds"] > clock.room():
        raise BadRequest("SIM002", f"Invalid seconds: {body['seconds']} would take the virtual clock past "
                                   f"{iso(LATEST)}, where it stops; it is {iso(clock.now())}, "
                                   f"{clock.room():.0f} seconds before")
    fired = await app[keys.SCHEDULER].advance(float(body["seconds"]))
    return json_response({"clock": "virtual", "now": iso(app[keys.CLOCK].now()), "transitions": fired})


@allow("admin")
async def journal(request: web.Request) -> web.StreamResponse:
    app = request.app
    q = request.query
    query.only(q, JOURNAL_PARAMETERS, "GET /_sim/journal")
    direction = q.get("direction")
    if direction not in (None, "in", "out"):
        raise BadRequest("SIM008", f"Invalid query parameter direction={direction!r}: use in or out")
    since = q.get("since")
    if since:
        try:
            since = iso(parse_iso(since))
        except ValueError:
            raise BadRequest("SIM008", f"Invalid query parameter since={since!r}: an ISO 8601 time between the "
                                       "years 1 and 9999 in UTC is expected") from None
    limit = query.int_param(q, "limit", 1000, 1, 10000)
    start = query.int_param(q, "after", 0, 0, 2**63 - 1)
    store, account = app[keys.STORE], request[ACCOUNT]

    def page(after: int, room: int) -> list[JournalEntry]:
        return store.journal(account, order_id=q.get("orderId"), direction=direction, kind=q.get("kind"),
                             since=since, after=after, limit=min(JOURNAL_PAGE, room))

    entries = page(start, limit)  # read before the reply starts, so a failure here still gets VTEX's error
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    await response.prepare(request)
    sent = 0

    def cut_short() -> web.StreamResponse:
        """The status is sent: a failure ends the connection, so no client takes the part for whole."""
        log.exception("could not read the journal after %d entries; reply cut short", sent)
        if request.transport is not None:
            request.transport.abort()
        return response

    try:
        await response.write(b'{"entries":[')
        while entries:
            try:
                text = b",".join(jsontext.dumps_bytes(e.to_json()) for e in entries)
            except Exception:
                return cut_short()
            await response.write(text if not sent else b"," + text)
            sent += len(entries)
            if len(entries) < JOURNAL_PAGE or sent >= limit:
                break
            await asyncio.sleep(0)  # other requests get their turn between pages
            try:
                entries = page(entries[-1].id, limit - sent)
            except Exception:
                return cut_short()
        await response.write(b"]}")
        await response.write_eof()
    except ConnectionError:  # the client hung up before the end: nobody is left to answer
        log.info("the journal's reader hung up after %d entries", sent)
    return response


@allow("admin")
async def inspect_order(request: web.Request) -> web.Response:
    """The chain order, its franchise orders, the status timeline and its callbacks in one document."""
    return json_response(request.app[keys.SERVICE].inspect(request[ACCOUNT], request.match_info["orderId"]))


@allow("admin")
async def drain_outbox(request: web.Request) -> web.Response:
    """Wait until every callback that is due has been attempted (the scenario runner's sync point).

    Retries scheduled for later are not waited for; ``settled`` is false if attempts were still in
    flight when the wait gave up (after the attempt timeout and a few seconds more)."""
    return json_response({"settled": await request.app[keys.DISPATCHER].settle()})


@allow("admin")
async def stock(request: web.Request) -> web.Response:
    query.only(request.query, (), "GET /_sim/stock")
    return json_response({"stock": request.app[keys.STORE].stock(request[ACCOUNT])})


def setup_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/_sim/health", health, name="sim-health")
    r.add_get("/_sim/schemas", list_schemas, name="sim-schemas")
    r.add_get("/_sim/schemas/{name}", get_schema, name="sim-schema")
    r.add_get("/_sim/clock", get_clock, name="sim-clock")
    r.add_post("/_sim/clock/advance", advance_clock, name="sim-clock-advance")
    r.add_get("/_sim/journal", journal, name="sim-journal")
    r.add_get("/_sim/orders/{orderId}", inspect_order, name="sim-order")
    r.add_get("/_sim/stock", stock, name="sim-stock")
    r.add_post("/_sim/outbox/drain", drain_outbox, name="sim-outbox-drain")
