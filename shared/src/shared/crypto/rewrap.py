"""Moving every wrapped DEK a service stores to the current KEK version (DESIGN §6).

A service declares where its wrapped DEKs sit (`WrappedKeys`: a collection, and for each key a
path into the document and the object id its wrap is bound to); `Rewrapper` walks those
collections in `_id` order and rewraps each DEK that is under an older version, without touching
the objects (the DEK itself does not change, only its wrap).

A run survives a crash: each document is its own marker (a DEK already under the target version
is skipped, never wrapped twice) and the walk's cursor per collection is kept in the service's
store (`kek_rotations`), so a second run continues where the first stopped. A document changed
by the running service meanwhile is read again and retried; one that no longer exists is
skipped. A DEK that cannot be unwrapped is reported and the run carries on; the next run walks
everything again, rewrapping only what is left.

`wrapped_under` counts the DEKs still under a version: what `retire-kek` checks first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from pydantic import ValidationError

from shared.clock import Clock
from shared.crypto.errors import CryptoError
from shared.crypto.keyring import KekSource, KeyRing, WrappedDek
from shared.store.port import (
    Document,
    DocumentStore,
    VersionConflictError,
    to_iso,
    version_of,
    without_meta,
)

log = logging.getLogger(__name__)

ROTATIONS: Final = "kek_rotations"
"""The walk's state, in the owning service's store."""
STATE_ID: Final = "rewrap"
BATCH_SIZE: Final = 100
_CONFLICT_RETRIES: Final = 5


@dataclass(frozen=True)
class WrappedKeyField:
    """One wrapped DEK in a document: where it is, and what object its wrap is bound to."""

    path: tuple[str, ...]
    object_id: Callable[[Document], str]

    @property
    def dotted(self) -> str:
        return ".".join(self.path)


def _by_id(document: Document) -> str:
    return str(document["_id"])


@dataclass(frozen=True)
class WrappedKeys:
    """A collection of a service's store holding wrapped DEKs (a value `None` or absent at a
    path, e.g. a shredded key or a dropped token, is no key)."""

    name: str
    collection: str
    fields: tuple[WrappedKeyField, ...]

    @classmethod
    def per_document(
        cls,
        name: str,
        collection: str,
        path: tuple[str, ...] = ("wrapped",),
        object_id: Callable[[Document], str] = _by_id,
    ) -> WrappedKeys:
        """One DEK per document, bound to the document's id unless said otherwise."""
        return cls(name, collection, (WrappedKeyField(path, object_id),))


def _at(document: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = document
    for part in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _with(document: Document, path: tuple[str, ...], value: Any) -> Document:
    head, *rest = path
    inner = value if not rest else _with(dict(document[head]), tuple(rest), value)
    return {**document, head: inner}


def wrapped_keys(site: WrappedKeys, document: Document) -> Iterator[tuple[WrappedKeyField, Any]]:
    """The (field, stored wrapped DEK) pairs present in `document`."""
    for key_field in site.fields:
        stored = _at(document, key_field.path)
        if isinstance(stored, Mapping):
            yield key_field, stored


@dataclass
class RewrapReport:
    """What a run did; `failed` names documents (collection and id), never key material."""

    kek_id: str
    target_version: int
    resumed: bool = False
    documents: int = 0
    rewrapped: int = 0
    already: int = 0
    vanished: int = 0
    failed: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.failed


Progress = Callable[[WrappedKeys, int, int], None]
"""Called with (collection, documents walked, documents in it) as the walk advances."""


def _no_progress(site: WrappedKeys, done: int, total: int) -> None:
    del site, done, total


@dataclass
class _State:
    kek_id: str
    target_version: int
    cursors: dict[str, str]
    done: list[str]
    started_at: str
    finished_at: str | None
    version: int | None

    def document(self) -> Document:
        return {
            "_id": STATE_ID,
            "kek_id": self.kek_id,
            "target_version": self.target_version,
            "cursors": self.cursors,
            "done": self.done,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
        }


async def unfinished_target(store: DocumentStore, kek_id: str) -> int | None:
    """The version an interrupted (or incomplete) run was moving DEKs to, if any."""
    stored = await store.get(ROTATIONS, STATE_ID)
    if stored is None or stored.get("finished_at") or stored.get("kek_id") != kek_id:
        return None
    return int(stored["target_version"])


class Rewrapper:
    """Rewraps a service's stored DEKs under the current version of its KEK source."""

    def __init__(
        self,
        store: DocumentStore,
        source: KekSource,
        sites: Sequence[WrappedKeys],
        clock: Clock,
        *,
        batch_size: int = BATCH_SIZE,
        progress: Progress = _no_progress,
    ) -> None:
        self._store = store
        self._source = source
        self._ring = KeyRing(source)
        self._sites = sites
        self._clock = clock
        self._batch_size = batch_size
        self._progress = progress

    async def run(self) -> RewrapReport:
        target = await self._source.current_version()
        state = await self._state(target)
        report = RewrapReport(self._source.key_id, target, resumed=bool(state.cursors))
        for site in self._sites:
            if site.name not in state.done:
                await self._walk(site, state, report)
                state.done.append(site.name)
                await self._save(state)
        if report.complete:
            state.finished_at = to_iso(self._clock.now())
        else:
            # Walk everything again next time: only what is left gets rewrapped.
            state.cursors, state.done = {}, []
        await self._save(state)
        log.info(
            "rewrap to %s v%s: %d rewrapped, %d already there, %d failed",
            report.kek_id,
            target,
            report.rewrapped,
            report.already,
            len(report.failed),
        )
        return report

    async def _state(self, target: int) -> _State:
        stored = await self._store.get(ROTATIONS, STATE_ID)
        now = to_iso(self._clock.now())
        fresh = _State(self._source.key_id, target, {}, [], now, None, None)
        if stored is None:
            return fresh
        fresh.version = version_of(stored)
        same = (
            stored.get("kek_id") == self._source.key_id
            and stored.get("target_version") == target
            and not stored.get("finished_at")
        )
        if not same:
            return fresh
        return _State(
            self._source.key_id,
            target,
            dict(stored.get("cursors") or {}),
            list(stored.get("done") or []),
            str(stored.get("started_at") or now),
            None,
            version_of(stored),
        )

    async def _save(self, state: _State) -> None:
        if state.version is None:
            saved = await self._store.insert(ROTATIONS, state.document())
        else:
            saved = await self._store.replace(
                ROTATIONS, state.document(), expected_version=state.version
            )
        state.version = version_of(saved)

    async def _walk(self, site: WrappedKeys, state: _State, report: RewrapReport) -> None:
        cursor = state.cursors.get(site.name)
        total = await self._store.count(site.collection)
        done = await self._store.count(site.collection, {"_id": {"$lte": cursor}}) if cursor else 0
        self._progress(site, done, total)
        while True:
            where = {"_id": {"$gt": cursor}} if cursor is not None else None
            batch = await self._store.find(
                site.collection, where, sort=[("_id", 1)], limit=self._batch_size
            )
            if not batch:
                return
            for document in batch:
                await self._document(site, document, state.target_version, report)
                report.documents += 1
            cursor = str(batch[-1]["_id"])
            state.cursors[site.name] = cursor
            await self._save(state)
            done += len(batch)
            self._progress(site, done, max(total, done))

    async def _document(
        self, site: WrappedKeys, document: Document, target: int, report: RewrapReport
    ) -> None:
        doc_id = str(document["_id"])
        current: Document | None = document
        for _ in range(_CONFLICT_RETRIES):
            if current is None:
                report.vanished += 1
                return
            try:
                changed, rewrapped, already = await self._rewrapped(site, current, target)
            except (CryptoError, ValidationError, KeyError, TypeError) as error:
                log.warning("cannot rewrap %s/%s: %s", site.collection, doc_id, type(error))
                report.failed.append(f"{site.collection}/{doc_id}: {type(error).__name__}")
                return
            if not rewrapped:
                report.already += already
                return
            try:
                await self._store.replace(
                    site.collection, without_meta(changed), expected_version=version_of(current)
                )
            except VersionConflictError:
                # Written by the service meanwhile: read it again, its keys may have changed.
                current = await self._store.get(site.collection, doc_id)
                continue
            report.rewrapped += rewrapped
            report.already += already
            return
        report.failed.append(f"{site.collection}/{doc_id}: kept changing")

    async def _rewrapped(
        self, site: WrappedKeys, document: Document, target: int
    ) -> tuple[Document, int, int]:
        changed, rewrapped, already = document, 0, 0
        for key_field, stored in wrapped_keys(site, document):
            wrapped = WrappedDek.model_validate(stored)
            if wrapped.kek_id == self._source.key_id and wrapped.kek_version >= target:
                already += 1
                continue
            fresh = await self._ring.rewrap(wrapped, key_field.object_id(document))
            changed = _with(changed, key_field.path, fresh.model_dump(mode="json"))
            rewrapped += 1
        return changed, rewrapped, already


async def wrapped_under(
    store: DocumentStore, sites: Sequence[WrappedKeys], kek_id: str, version: int
) -> dict[str, int]:
    """How many DEKs of each collection are still wrapped under `kek_id` version `version`."""
    counts: dict[str, int] = {}
    for site in sites:
        total = 0
        for key_field in site.fields:
            total += await store.count(
                site.collection,
                {f"{key_field.dotted}.kek_id": kek_id, f"{key_field.dotted}.kek_version": version},
            )
        counts[site.name] = total
    return counts
