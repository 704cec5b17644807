"""JSON responses, serialised once, compactly."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from simulator import jsontext


def json_response(value: Any, status: int = 200) -> web.Response:
    return web.Response(body=jsontext.dumps_bytes(value), status=status, content_type="application/json")
