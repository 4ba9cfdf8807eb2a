"""What audit's read API answers, as typed models (so that its OpenAPI documents them). An
entry is served as it is stored (`audit.domain.JournalEntry`), with what the caller may see of
its payload (`audit.reads`)."""

from __future__ import annotations

from typing import Required

from pydantic import BaseModel, JsonValue

from audit.domain import JournalEntry
from audit.vault import PayloadState


class EntryDetail(JournalEntry, total=False):
    """An entry, its leaf hash, and why its payload is or is not shown (`payload_state`); the
    payload and the envelope fields kept out of the leaf only when `available`."""

    leaf_hash: Required[str]
    payload_state: Required[PayloadState]
    payload: dict[str, JsonValue]
    payload_salt: str
    actor: str
    correlation_id: str | None
    causation_id: str | None


class EntryPage(BaseModel):
    entries: list[JournalEntry]
    next_after: int | None
    """The index to ask for the next page after; null on the last page."""


class CheckpointView(BaseModel):
    size: int
    root: str
    note: str
    signed_at: str


class CheckpointList(BaseModel):
    checkpoints: list[CheckpointView]


class InclusionView(BaseModel):
    index: int
    size: int
    leaf_hash: str
    audit_path: list[str]
    root: str


class ConsistencyView(BaseModel):
    first: int
    second: int
    first_root: str
    second_root: str
    consistency_path: list[str]


class HeadView(BaseModel):
    size: int
    root: str


class StatsView(BaseModel):
    """This process's counters since it started."""

    appended: int
    duplicates: int
    gaps_detected: int
    late_arrivals: int
    repeated_sequences: int
    checkpoints_signed: int
    checkpoints_refused: int
