"""The journal's group commit answers many handlers at once: it is a trace of its own, linked to
the span of every handler whose envelope it committed; checkpoint signing is a span too."""

from __future__ import annotations

import asyncio

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from shared.telemetry import OUTCOME, Telemetry, span
from tests.unit.audit.conftest import Audit, event


async def test_one_group_commit_links_to_each_handler_it_answered(
    audit: Audit, telemetry: Telemetry, exporter: InMemorySpanExporter
) -> None:
    async def handle(seq: int) -> int:
        with span(f"handler {seq}") as handler:
            assert await audit.journal.append(event(audit.clock, seq=seq))
        return handler.get_span_context().span_id

    handlers = set(await asyncio.gather(*(handle(seq) for seq in (1, 2, 3))))

    commits = [s for s in exporter.get_finished_spans() if s.name == "journal group commit"]
    assert commits
    assert all(commit.parent is None for commit in commits)  # not inside one handler's trace
    linked = {link.context.span_id for commit in commits for link in commit.links}
    assert linked == handlers
    assert sum(int((c.attributes or {})["securact.batch.size"]) for c in commits) == 3


async def test_checkpoint_signing_is_a_span_with_its_outcome(
    audit: Audit, telemetry: Telemetry, exporter: InMemorySpanExporter
) -> None:
    await audit.journal.append(event(audit.clock, seq=1))
    assert await audit.checkpoints.sign_if_grown() is not None
    assert await audit.checkpoints.sign_if_grown() is None

    signings = [s for s in exporter.get_finished_spans() if s.name == "checkpoint signing"]
    assert [(s.attributes or {})[OUTCOME] for s in signings] == ["signed", "unchanged"]
