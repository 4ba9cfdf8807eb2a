"""Spans kept on local disk, one JSON object per line: what the dev stack records so that
`securact-dev trace ACT_ID` shows a developer the trace an SRE sees, without Grafana.

Each service appends to `<directory>/<service>.jsonl` (batched, off the request path). The
record is the span's own data: ids, parent, links, name, kind, service, times, status and
attributes (the attributes the kernel lets through: no client address, no query string).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from opentelemetry.sdk.resources import SERVICE_NAME
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import format_span_id, format_trace_id

from shared.jsondoc import JsonObject

__all__ = ["JsonlSpanExporter", "SpanRecord", "read_spans"]


def _record(span: ReadableSpan) -> JsonObject:
    context = span.get_span_context()
    parent = span.parent
    return {
        "trace_id": format_trace_id(context.trace_id) if context else None,
        "span_id": format_span_id(context.span_id) if context else None,
        "parent_id": format_span_id(parent.span_id) if parent else None,
        "links": [
            {
                "trace_id": format_trace_id(link.context.trace_id),
                "span_id": format_span_id(link.context.span_id),
            }
            for link in span.links
        ],
        "name": span.name,
        "kind": span.kind.name,
        "service": str(span.resource.attributes.get(SERVICE_NAME, "")),
        "start": span.start_time,
        "end": span.end_time,
        "status": span.status.status_code.name,
        "attributes": dict(span.attributes or {}),
    }


class JsonlSpanExporter(SpanExporter):
    """Appends finished spans to one JSONL file (created with its directory)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        lines = "".join(
            json.dumps(_record(span), ensure_ascii=False, default=str) + "\n" for span in spans
        )
        try:
            with self._lock, self.path.open("a", encoding="utf-8") as out:
                out.write(lines)
        except OSError:
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None


@dataclass(frozen=True)
class SpanRecord:
    """One span as the file keeps it."""

    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    kind: str
    service: str
    start: int
    end: int
    status: str
    attributes: JsonObject = field(default_factory=dict)
    links: tuple[tuple[str, str], ...] = ()

    @property
    def duration_ms(self) -> float:
        return (self.end - self.start) / 1e6

    @classmethod
    def from_json(cls, data: JsonObject) -> SpanRecord:
        return cls(
            trace_id=str(data["trace_id"]),
            span_id=str(data["span_id"]),
            parent_id=data.get("parent_id"),
            name=str(data["name"]),
            kind=str(data.get("kind", "")),
            service=str(data.get("service", "")),
            start=int(data.get("start") or 0),
            end=int(data.get("end") or 0),
            status=str(data.get("status", "")),
            attributes=dict(data.get("attributes") or {}),
            links=tuple((str(x["trace_id"]), str(x["span_id"])) for x in data.get("links", [])),
        )


def read_spans(files: Iterable[Path]) -> Iterator[SpanRecord]:
    """Every span of `files`; a line cut short by a process still writing is skipped."""
    for path in files:
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                try:
                    yield SpanRecord.from_json(json.loads(line))
                except (ValueError, KeyError, TypeError):
                    continue
