"""Publishing a CGU version: checked against the notice period and the publication horizon,
stored with its notice fan-out job in one transaction."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from identity import errors
from identity.domain import content_hash, latest_terms_effective_at
from identity.records import FANOUTS, TERMS, instant, iso
from identity.terms.fanout import NOTICE_FANOUT, PENDING
from identity.terms.versions import (
    MAX_TERMS_BYTES,
    SHIPPED_ACTOR,
    SHIPPED_TEXTS,
    TermsReads,
    TermsVersion,
    earliest_effective_at,
    first_version_text,
    shipped_text,
    terms_id,
)
from shared.contracts.identity import TermsPublishedV1
from shared.store.port import DuplicateKeyError, Transaction, VersionConflictError

log = logging.getLogger(__name__)


class Publication(TermsReads):
    """New versions: the first at the first start, the shipped ones, an operator's."""

    async def seed(self) -> None:
        """Version 1 (the text shipped with the service), in force from the first start."""
        ctx = self._ctx
        if await ctx.store.count(TERMS) > 0:
            return
        markdown = first_version_text()
        now = ctx.clock.now()
        async with ctx.outbox.transaction() as tx:
            if await tx.count(TERMS) > 0:
                return
            await self._insert(tx, 1, markdown, now, now)

    async def publish_shipped(self) -> list[TermsVersion]:
        """Publish the shipped texts no stored version carries yet, each at the earliest
        effective date the notice allows (after any version already scheduled): the same
        process as an operator's publication, notices per account included."""
        published: list[TermsVersion] = []
        for path in SHIPPED_TEXTS[1:]:
            markdown = shipped_text(path)
            if await self._ctx.store.find(TERMS, {"content_hash": content_hash(markdown)}, limit=1):
                continue
            now = self._ctx.clock.now()
            effective_at = earliest_effective_at(now, self._ctx.settings.terms_notice_months)
            latest = await self._ctx.store.find(TERMS, sort=[("version", -1)], limit=1)
            if latest and (scheduled := instant(latest[0]["effective_at"])) is not None:
                effective_at = max(effective_at, scheduled + timedelta(days=1))
            try:
                published.append(await self.publish(markdown, effective_at, operator=None))
            except (DuplicateKeyError, VersionConflictError):
                # Another replica published it first.
                continue
        return published

    async def _insert(
        self, tx: Transaction, version: int, markdown: str, effective_at: datetime, now: datetime
    ) -> TermsVersion:
        digest = content_hash(markdown)
        document = {
            "_id": terms_id(version),
            "version": version,
            "markdown": markdown,
            "content_hash": digest,
            "effective_at": iso(effective_at),
            "published_at": iso(now),
        }
        await tx.insert(TERMS, document)
        await self._ctx.emit(
            tx,
            TermsPublishedV1(
                terms_version=version,
                content_hash=digest,
                effective_at=effective_at,
                published_at=now,
            ),
            subject=f"terms:v{version}",
        )
        return TermsVersion.of(document)

    async def publish(
        self, markdown: str, effective_at: datetime, *, operator: str | None
    ) -> TermsVersion:
        """A new version, effective no sooner than the end of the day one month after a notice
        presented now is deemed received (CGU §4, §16; `earliest_effective_at`) and no later
        than `terms_max_lead_months` (twelve) from now; every active
        recipient will be warned (one `terms-notice-issued` event each, for notify) by the
        notice fan-out this publication schedules (`fan_out_notices`)."""
        ctx = self._ctx
        now = ctx.clock.now()
        if not markdown.strip() or len(markdown.encode("utf-8")) > MAX_TERMS_BYTES:
            raise errors.IdentityError(422, "terms-text-invalid", "The text is empty or too long.")
        earliest = earliest_effective_at(now, ctx.settings.terms_notice_months)
        if effective_at < earliest:
            raise errors.IdentityError(
                422,
                "terms-notice-too-short",
                "A new CGU version takes effect at the end of the day one month after its "
                "notice is deemed received, at the earliest.",
                extra={"earliest_effective_at": earliest.isoformat()},
            )
        horizon = latest_terms_effective_at(now, ctx.settings.terms_max_lead_months)
        if effective_at > horizon:
            raise errors.IdentityError(
                422,
                "terms-effective-too-late",
                "A new CGU version takes effect at most "
                f"{ctx.settings.terms_max_lead_months} months after its publication.",
                extra={"latest_effective_at": horizon.isoformat()},
            )
        async with ctx.outbox.transaction() as tx:
            latest = await tx.find(TERMS, sort=[("version", -1)], limit=1)
            latest_effective = instant(latest[0]["effective_at"]) if latest else None
            if latest_effective is not None and latest_effective >= effective_at:
                raise errors.IdentityError(
                    409,
                    "terms-out-of-order",
                    "A later version is already scheduled; a new one must take effect after it.",
                )
            version = int(latest[0]["version"]) + 1 if latest else 1
            published = await self._insert(tx, version, markdown, effective_at, now)
            await tx.insert(
                FANOUTS,
                {
                    "_id": f"{NOTICE_FANOUT}:{terms_id(version)}",
                    "kind": NOTICE_FANOUT,
                    "terms_version": version,
                    "effective_at": iso(effective_at),
                    "published_at": iso(now),
                    "actor": f"operator:{operator}" if operator else SHIPPED_ACTOR,
                    "status": PENDING,
                    "cursor": "",
                    "issued": 0,
                    "created_at": iso(now),
                },
            )
        log.info("CGU version %d published, effective %s", version, effective_at.isoformat())
        return published
