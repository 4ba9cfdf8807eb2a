"""CGU versions: numbered from 1, their markdown text, its SHA-256, an effective date; the
texts shipped with the service; the version in force and those to come."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from importlib.resources import files

from identity import errors
from identity.notices import binds_from, deemed_received_on
from identity.records import TERMS, Context, instant, iso
from shared.store.port import Document

MAX_TERMS_BYTES = 200_000


def terms_id(version: int) -> str:
    return f"v{version:05d}"


# The texts shipped with the service, in order: the first is in force from the first start,
# each later one is published at start like an operator's (full notice, per account).
SHIPPED_TEXTS = ("data/cgu-v1.md", "data/cgu-v2.md")
SHIPPED_ACTOR = "service:identity"


def shipped_text(path: str) -> str:
    return files("identity").joinpath(path).read_text(encoding="utf-8")


def first_version_text() -> str:
    return shipped_text(SHIPPED_TEXTS[0])


def earliest_effective_at(published_at: datetime, notice_months: int) -> datetime:
    """CGU §4, §16: a notice presented at publication is deemed received the first *jour
    ouvré* after; a version cannot take effect before 24:00 of the day one month later (CPC
    641, 642). Each account is bound later still if its own notice was received later."""
    return binds_from(deemed_received_on(published_at), published_at, notice_months)


@dataclass(frozen=True)
class TermsVersion:
    version: int
    markdown: str
    content_hash: str
    effective_at: datetime
    published_at: datetime

    @classmethod
    def of(cls, document: Document) -> TermsVersion:
        effective_at = instant(document["effective_at"])
        published_at = instant(document["published_at"])
        assert effective_at is not None
        assert published_at is not None
        return cls(
            int(document["version"]),
            str(document["markdown"]),
            str(document["content_hash"]),
            effective_at,
            published_at,
        )


class TermsReads:
    """The CGU use cases' context, and the versions anyone may read."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    async def current(self) -> TermsVersion:
        now = self._ctx.clock.now()
        found = await self._ctx.store.find(
            TERMS, {"effective_at": {"$lte": iso(now)}}, sort=[("effective_at", -1)], limit=1
        )
        if not found:
            raise errors.not_found("terms")
        return TermsVersion.of(found[0])

    async def version(self, number: int) -> TermsVersion:
        document = await self._ctx.store.get(TERMS, terms_id(number))
        if document is None:
            raise errors.not_found("terms")
        return TermsVersion.of(document)

    async def upcoming(self) -> list[TermsVersion]:
        now = self._ctx.clock.now()
        found = await self._ctx.store.find(
            TERMS, {"effective_at": {"$gt": iso(now)}}, sort=[("effective_at", 1)]
        )
        return [TermsVersion.of(document) for document in found]
