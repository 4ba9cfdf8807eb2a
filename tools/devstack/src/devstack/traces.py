"""`securact-dev trace ACT_ID`: one act's traces as a tree, from the spans the dev stack keeps
in var/spans/<service>.jsonl (what an SRE sees in Grafana, in the terminal).

The act's traces are those with a span naming the act (`securact.act.id`), plus the traces
linked to or from them (work done for many acts at once, such as the journal's group commit,
links to each act's trace instead of joining it).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from shared.spanfile import SpanRecord, read_spans
from shared.telemetry import ACT_ID, EVENT_TYPE, OFFICE_ID, OUTCOME

SHOWN_ATTRIBUTES = (ACT_ID, OFFICE_ID, EVENT_TYPE, OUTCOME, "http.route", "http.status_code")


def act_traces(spans: Sequence[SpanRecord], act_id: str) -> dict[str, list[SpanRecord]]:
    """The spans of every trace about `act_id`, by trace id."""
    by_trace: dict[str, list[SpanRecord]] = defaultdict(list)
    for span in spans:
        by_trace[span.trace_id].append(span)
    chosen = {s.trace_id for s in spans if s.attributes.get(ACT_ID) == act_id}
    linked = {trace for s in spans if s.trace_id in chosen for trace, _span in s.links}
    linking = {s.trace_id for s in spans if any(trace in chosen for trace, _ in s.links)}
    wanted = chosen | linked | linking
    return {trace: by_trace[trace] for trace in wanted if trace in by_trace}


def _label(span: SpanRecord) -> str:
    shown = " ".join(
        f"{key.removeprefix('securact.')}={span.attributes[key]}"
        for key in SHOWN_ATTRIBUTES
        if key in span.attributes
    )
    status = " ERROR" if span.status == "ERROR" else ""
    links = "".join(f" ↪ {trace[:8]}…/{span_id[:8]}" for trace, span_id in span.links)
    return f"{span.name} [{span.service}] {span.duration_ms:.1f} ms{status} {shown}{links}".rstrip()


def render(traces: dict[str, list[SpanRecord]]) -> list[str]:
    """The traces as indented trees, earliest first; children by start time."""
    lines: list[str] = []
    ordered = sorted(traces.items(), key=lambda item: min(s.start for s in item[1]))
    for trace_id, spans in ordered:
        ids = {s.span_id for s in spans}
        children: dict[str | None, list[SpanRecord]] = defaultdict(list)
        for span in spans:
            parent = span.parent_id if span.parent_id in ids else None
            children[parent].append(span)
        start = datetime.fromtimestamp(min(s.start for s in spans) / 1e9, tz=UTC)
        services = sorted({s.service for s in spans})
        lines.append(
            f"trace {trace_id}  {start:%Y-%m-%d %H:%M:%S}Z  "
            f"{len(spans)} spans, {len(services)} services ({', '.join(services)})"
        )
        lines.extend(_tree(children, None, 1))
    return lines


def _tree(
    children: dict[str | None, list[SpanRecord]], parent: str | None, depth: int
) -> list[str]:
    lines: list[str] = []
    for span in sorted(children.get(parent, []), key=lambda record: record.start):
        lines.append(f"{'  ' * depth}{_label(span)}")
        lines.extend(_tree(children, span.span_id, depth + 1))
    return lines


def span_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.jsonl")) if directory.exists() else []


def show(directory: Path, act_id: str) -> list[str]:
    """The lines `securact-dev trace` prints (empty when no span names the act)."""
    spans = list(read_spans(span_files(directory)))
    return render(act_traces(spans, act_id))
