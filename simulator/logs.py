"""Structured logs: one JSON object per line unless stderr is a terminal.

Extra fields go in ``extra={"fields": {...}}``. Nothing here ever sees request headers, so app
tokens cannot reach a log line.
"""

from __future__ import annotations

import logging
import sys
from datetime import datetime, timezone

from simulator import jsontext


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "fields", None) or {})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return jsontext.dumps(entry, default=str)  # orjson, or the standard library for what it refuses


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        base = f"{datetime.now().strftime('%H:%M:%S')} {record.levelname.lower():7} {record.getMessage()}"
        fields = getattr(record, "fields", None)
        if fields:
            base += "  " + " ".join(f"{k}={v}" for k, v in fields.items() if v is not None)
        if record.exc_info:
            base += "\n" + self.formatException(record.exc_info)
        return base


def setup_logging(level: str = "info", fmt: str = "auto") -> None:
    handler = logging.StreamHandler(sys.stderr)
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    handler.setFormatter(JsonFormatter() if use_json else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
