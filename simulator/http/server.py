"""The HTTP server: aiohttp's, with VTEX's error body for requests it cannot even parse.

aiohttp answers a request it cannot parse (a request line or a header over its 8190-byte limit,
a method with a space in it, broken chunked framing) itself, before routing and before any
middleware, in plain text, and logs a traceback for it. aiohttp has no hook for that answer
(aio-libs/aiohttp#3287), so moisim's server makes request handlers whose ``handle_error`` gives
the client ``{"error":{"code":"SIM013",...}}`` and the log one line. A body that does not
decode (gzip that is not) is answered by the middleware; these handlers keep aiohttp from
logging it a second time as an unhandled exception.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import ContentEncodingError, LineTooLong
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from simulator.http.middleware import error_response, payload_error

log = logging.getLogger("moisim.http")


def _codings_read() -> str:
    """The request Content-Encodings aiohttp decodes here: brotli and zstd only where their
    optional packages are installed."""
    try:
        from aiohttp.compression_utils import HAS_BROTLI, HAS_ZSTD
    except ImportError:  # another aiohttp's layout: claim only what every version reads
        HAS_BROTLI = HAS_ZSTD = False
    return ", ".join(["gzip", "deflate", *(["br"] if HAS_BROTLI else []), *(["zstd"] if HAS_ZSTD else [])])


CODINGS_READ = _codings_read()


class _VtexErrorsRequestHandler(RequestHandler):
    def log_exception(self, *args: Any, **kw: Any) -> None:
        exc = kw.get("exc_info")
        if isinstance(exc, web.RequestPayloadError):
            # A body that does not decode (gzip that is not, broken chunks): the middleware has
            # answered 400 SIM001; aiohttp meets the error again while draining the body after the
            # reply and would log it as an unhandled exception, with a traceback.
            log.warning("unreadable request body", extra={"fields": {"reason": payload_error(exc)}})
            return
        super().log_exception(*args, **kw)

    def handle_error(self, request: BaseRequest, status: int = 500, exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        if status >= 500:  # not the client's doing: aiohttp's own answer and traceback, in VTEX's shape
            super().handle_error(request, status, exc, message)
            response = error_response(500, "SIM500", "Internal error in moisim; the log has the details")
        else:
            if request.writer.output_size > 0:  # as aiohttp: a reply has begun, nothing more can be sent
                raise ConnectionError("Response is sent already, cannot send another response with the error message")
            if isinstance(exc, ContentEncodingError):
                # A Content-Encoding aiohttp cannot decode here (brotli or zstd without their
                # packages): 415, and Accept-Encoding says what would do (RFC 9110 §15.5.16).
                named = re.search(r"\((\w+)\)", str(exc))  # "Can not decode content-encoding: brotli (br). ..."
                coding = f"Content-Encoding {named.group(1)}" if named else "the body's Content-Encoding"
                status, text = 415, (f"{coding} cannot be read here; send the body with Content-Encoding "
                                     f"{' or '.join(CODINGS_READ.split(', '))}, or with none")
            else:
                text = _describe(exc, message)
            log.warning("unparsable HTTP request", extra={"fields": {"status": status, "reason": text}})
            response = error_response(status, "SIM013", f"Bad HTTP request: {text}")
            if status == 415:
                response.headers["Accept-Encoding"] = CODINGS_READ
        response.force_close()
        return response


def _describe(exc: BaseException | None, message: str | None) -> str:
    """One line saying what was wrong and where."""
    if isinstance(exc, LineTooLong) and len(exc.args) == 3:
        line, limit, _size = exc.args
        start = bytes(line).decode("utf-8", "replace") if isinstance(line, (bytes, bytearray)) else str(line)
        return f"the request line or a header is longer than {limit} bytes; it begins {start[:60].rstrip('.')!r}"
    text = message or str(exc or "") or "malformed request"
    # aiohttp's parser points at the bad byte with a caret on a line of its own: keep the words
    return " ".join(part for part in text.split() if part != "^")


class _Server(web.Server):
    def __call__(self) -> RequestHandler:
        return _VtexErrorsRequestHandler(self, loop=self._loop, **self._kwargs)


class Runner(web.AppRunner):
    """``web.AppRunner`` whose connections answer unparsable requests in VTEX's error shape."""

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        server.__class__ = _Server  # the very server aiohttp built; only the handlers it makes differ
        return server
