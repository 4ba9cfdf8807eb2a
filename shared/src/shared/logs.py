"""Logs of every service: JSON lines in production, one readable coloured line in dev.

Each line carries the active span's trace id, so a log line leads to its trace and back; only
the `extra` fields named in `ALLOWED_LOG_FIELDS` reach it (identifiers and technical facts,
never personal data nor payloads).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Final, TextIO

from opentelemetry import trace

from shared.jsondoc import JsonObject

__all__ = [
    "ALLOWED_LOG_FIELDS",
    "JsonLogFormatter",
    "TextLogFormatter",
    "configure_logging",
]

ALLOWED_LOG_FIELDS: Final[frozenset[str]] = frozenset(
    {
        "event_id",
        "event_type",
        "schema_version",
        "subject",
        "producer",
        "producer_seq",
        "correlation_id",
        "causation_id",
        "consumer",
        "queue",
        "routing_key",
        "attempt",
        "max_attempts",
        "delay_seconds",
        "duration_ms",
        "count",
        "service",
        "outcome",
        "status_code",
        "method",
        "route",
    }
)

_TRACE_ID_ATTR: Final = "otel_trace_id"
_SPAN_ID_ATTR: Final = "otel_span_id"

# ANSI colours of the dev console, by level; the service name in bold.
_LEVEL_COLOURS: Final = {
    "DEBUG": "\x1b[2m",
    "INFO": "\x1b[32m",
    "WARNING": "\x1b[33m",
    "ERROR": "\x1b[31m",
    "CRITICAL": "\x1b[1;31m",
}
_BOLD: Final = "\x1b[1m"
_DIM: Final = "\x1b[2m"
_RESET: Final = "\x1b[0m"


class _TraceContextFilter(logging.Filter):
    """Stamps the active span's ids on the record, in the emitting task's context."""

    def filter(self, record: logging.LogRecord) -> bool:
        span_context = trace.get_current_span().get_span_context()
        if span_context.is_valid:
            setattr(record, _TRACE_ID_ATTR, trace.format_trace_id(span_context.trace_id))
            setattr(record, _SPAN_ID_ATTR, trace.format_span_id(span_context.span_id))
        return True


def _allowed_extras(record: logging.LogRecord, allowed: frozenset[str]) -> JsonObject:
    return {key: value for key, value in vars(record).items() if key in allowed}


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line: time, level, service, logger, message, trace ids, extras."""

    def __init__(
        self, allowed_fields: frozenset[str] = ALLOWED_LOG_FIELDS, *, service: str = ""
    ) -> None:
        super().__init__()
        self._allowed = allowed_fields
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: JsonObject = {
            "time": datetime.fromtimestamp(record.created, tz=UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if self._service:
            entry["service"] = self._service
        trace_id = getattr(record, _TRACE_ID_ATTR, None)
        if trace_id is not None:
            entry["trace_id"] = trace_id
            entry["span_id"] = getattr(record, _SPAN_ID_ATTR, None)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        for key, value in _allowed_extras(record, self._allowed).items():
            entry.setdefault(key, value)
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextLogFormatter(logging.Formatter):
    """One readable line for a terminal: `service time LEVEL logger: message key=value`,
    coloured when `colour` (a traceback, if any, follows on its own lines)."""

    def __init__(
        self,
        allowed_fields: frozenset[str] = ALLOWED_LOG_FIELDS,
        *,
        service: str = "",
        colour: bool = False,
    ) -> None:
        super().__init__("%(asctime)s.%(msecs)03dZ %(levelname)-7s %(name)s: %(message)s")
        self.default_time_format = "%H:%M:%S"
        self.default_msec_format = None  # milliseconds come from the format string
        self.converter = time.gmtime
        self._allowed = allowed_fields
        self._service = service
        self._colour = colour

    def format(self, record: logging.LogRecord) -> str:
        # The base class appends the traceback after the message; keep it last.
        exc_info, exc_text, stack_info = record.exc_info, record.exc_text, record.stack_info
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        try:
            line = super().format(record).replace("\n", " ⏎ ")
        finally:
            record.exc_info, record.exc_text, record.stack_info = exc_info, exc_text, stack_info
        fields = dict(sorted(_allowed_extras(record, self._allowed).items()))
        trace_id = getattr(record, _TRACE_ID_ATTR, None)
        if trace_id is not None:
            fields["trace_id"] = trace_id
        tail = " ".join(f"{key}={value}" for key, value in fields.items())
        if self._colour:
            colour = _LEVEL_COLOURS.get(record.levelname, "")
            line = f"{colour}{line}{_RESET}"
            if tail:
                tail = f"{_DIM}{tail}{_RESET}"
        if tail:
            line += " " + tail
        if self._service:
            service = f"{self._service:<9}"
            line = f"{_BOLD}{service}{_RESET} {line}" if self._colour else f"{service} {line}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        if record.stack_info:
            line += "\n" + self.formatStack(record.stack_info)
        return line


_handler: logging.Handler | None = None


def configure_logging(
    level: str,
    json_format: bool,
    *,
    service: str = "",
    colour: bool | None = None,
    extra_fields: Iterable[str] = (),
    stream: TextIO | None = None,
) -> logging.Handler:
    """Send the root logger to stderr (or `stream`), as JSON lines or readable text.

    Text lines start with `service` and are coloured when `colour` (default: when the stream
    is a terminal). Each line carries the active span's `trace_id` and the `extra` fields named
    in `ALLOWED_LOG_FIELDS` (plus `extra_fields`); other extras are dropped. Calling it again
    replaces the handler it installed before, never duplicates it; handlers installed by others
    (pytest's capture, for one) are left alone. Returns the installed handler.
    """
    global _handler
    levels = logging.getLevelNamesMapping()
    numeric_level = levels.get(level.upper())
    if numeric_level is None:
        raise ValueError(f"unknown log level {level!r}")

    target = sys.stderr if stream is None else stream
    allowed = ALLOWED_LOG_FIELDS | frozenset(extra_fields)
    handler = logging.StreamHandler(target)
    handler.addFilter(_TraceContextFilter())
    formatter: logging.Formatter
    if json_format:
        formatter = JsonLogFormatter(allowed, service=service)
    else:
        if colour is None:
            colour = bool(getattr(target, "isatty", lambda: False)())
        formatter = TextLogFormatter(allowed, service=service, colour=colour)
    handler.setFormatter(formatter)

    root = logging.getLogger()
    if _handler is not None:
        root.removeHandler(_handler)
        _handler.close()
    root.addHandler(handler)
    root.setLevel(numeric_level)
    # httpx logs every request's full URL at INFO: query strings may carry search keys, and
    # the client spans already say which call was made (as uvicorn's access log, left off).
    logging.getLogger("httpx").setLevel(max(numeric_level, logging.WARNING))
    _handler = handler
    return handler
