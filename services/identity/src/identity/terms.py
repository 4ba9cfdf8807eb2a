"""CGU versions, their acceptance as consent and their refusal (issue 4 item 3).

Versions are numbered from 1, carry their markdown text, its SHA-256 and an effective date. The
current version is the latest whose effective date has come. A recipient whose accepted version
is not the current one gets sessions that may only answer the CGU (see `sessions.scopes_for`).
A refusal is final, as consent treats it (the declaration stays refused): refusing before any
acceptance leaves the account without access (no login opens a session, accepting afterwards
is 409 `terms-refused`); refusing a new version terminates the account.

Publishing warns every active recipient (one `terms-notice-issued` event each, which notify
e-mails). With many accounts one transaction per publication would be huge, so the publication
stores a durable fan-out job instead, in the same transaction as the version; a background job
writes the notices `terms_notice_batch_size` accounts per transaction, each batch committing its
notices together with the job's cursor (the last account id done). A crash loses at most an
uncommitted batch, which the next run redoes; the cursor only moves forward over account ids, so
each account gets exactly one notice. The recipients are those active at the publication (and
still active when their batch runs).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from importlib.resources import files

from identity import errors
from identity.accounts import terminate_in
from identity.domain import (
    AccountStatus,
    content_hash,
    earliest_terms_effective_at,
    latest_terms_effective_at,
)
from identity.records import (
    ACCOUNTS,
    FANOUTS,
    SESSIONS,
    TERMS,
    TERMS_DECISIONS,
    Context,
    account_subject,
    instant,
    iso,
    put,
)
from identity.sessions import current_terms_version, has_refused_terms, revoke_session
from shared.contracts.identity import (
    AccountRole,
    SessionRevocationReason,
    TerminationReason,
    TermsAcceptedV1,
    TermsNoticeIssuedV1,
    TermsPublishedV1,
    TermsRefusedV1,
)
from shared.store.port import (
    VERSION,
    Document,
    DuplicateKeyError,
    Transaction,
    VersionConflictError,
)

log = logging.getLogger(__name__)

MAX_TERMS_BYTES = 200_000
NOTICE_FANOUT = "terms-notice"
PENDING = "pending"
DONE = "done"
# A CGU answer that lost a race with another answer of the same account is run again once.
DECISION_TRIES = 2


def terms_id(version: int) -> str:
    return f"v{version:05d}"


def first_version_text() -> str:
    return files("identity").joinpath("data/cgu-v1.md").read_text(encoding="utf-8")


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


@dataclass(frozen=True)
class TermsDecision:
    version: int
    accepted: bool
    terminated: bool


class Terms:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

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

    async def current(self) -> TermsVersion:
        now = self._ctx.clock.now()
        found = await self._ctx.store.find(
            TERMS, {"effective_at": {"$lte": iso(now)}}, sort=[("effective_at", -1)], limit=1
        )
        if not found:
            raise errors.not_found("terms")
        return TermsVersion.of(found[0])

    async def upcoming(self) -> list[TermsVersion]:
        now = self._ctx.clock.now()
        found = await self._ctx.store.find(
            TERMS, {"effective_at": {"$gt": iso(now)}}, sort=[("effective_at", 1)]
        )
        return [TermsVersion.of(document) for document in found]

    async def publish(
        self, markdown: str, effective_at: datetime, *, operator: str
    ) -> TermsVersion:
        """A new version, effective no sooner than one month from now (CGU §4) and no later
        than `terms_max_lead_months` (twelve) from now; every active
        recipient will be warned (one `terms-notice-issued` event each, for notify) by the
        notice fan-out this publication schedules (`fan_out_notices`)."""
        ctx = self._ctx
        now = ctx.clock.now()
        if not markdown.strip() or len(markdown.encode("utf-8")) > MAX_TERMS_BYTES:
            raise errors.IdentityError(422, "terms-text-invalid", "The text is empty or too long.")
        earliest = earliest_terms_effective_at(now, ctx.settings.terms_notice_months)
        if effective_at < earliest:
            raise errors.IdentityError(
                422,
                "terms-notice-too-short",
                "A new CGU version takes effect at least one month after its publication.",
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
                    "actor": f"operator:{operator}",
                    "status": PENDING,
                    "cursor": "",
                    "issued": 0,
                    "created_at": iso(now),
                },
            )
        log.info("CGU version %d published, effective %s", version, effective_at.isoformat())
        return published

    async def fan_out_notices(self, *, max_batches: int | None = None) -> int:
        """Write the notices of pending publications, one batch per transaction, until none is
        pending (or `max_batches` batches were written); returns how many notices."""
        written = 0
        batches = 0
        while max_batches is None or batches < max_batches:
            pending = await self._ctx.store.find(
                FANOUTS, {"status": PENDING}, sort=[("_id", 1)], limit=1
            )
            if not pending:
                break
            try:
                written += await self._notice_batch(str(pending[0]["_id"]))
            except VersionConflictError:
                # Another replica wrote this batch first: read the job again.
                continue
            batches += 1
        return written

    async def run_notice_fan_outs(self) -> None:
        """The background job (`ServiceRuntime.every`)."""
        written = await self.fan_out_notices()
        if written:
            log.info("%d CGU notices issued", written)

    async def _notice_batch(self, job_id: str) -> int:
        ctx = self._ctx
        size = ctx.settings.terms_notice_batch_size
        async with ctx.outbox.transaction() as tx:
            job = await tx.get(FANOUTS, job_id)
            if job is None or job["status"] != PENDING:
                return 0
            recipients = await tx.find(
                ACCOUNTS,
                {
                    "_id": {"$gt": job["cursor"]},
                    "role": AccountRole.RECIPIENT.value,
                    "status": AccountStatus.ACTIVE.value,
                    "activated_at": {"$lte": job["published_at"]},
                },
                sort=[("_id", 1)],
                limit=size,
            )
            effective_at = instant(job["effective_at"])
            assert effective_at is not None
            for account in recipients:
                await ctx.emit(
                    tx,
                    TermsNoticeIssuedV1(
                        account_id=account["_id"],
                        email=account["email"],
                        terms_version=int(job["terms_version"]),
                        effective_at=effective_at,
                    ),
                    subject=account_subject(account["_id"]),
                    actor=str(job["actor"]),
                )
            done = len(recipients) < size
            await put(
                tx,
                FANOUTS,
                {
                    **job,
                    "cursor": recipients[-1]["_id"] if recipients else job["cursor"],
                    "issued": int(job["issued"]) + len(recipients),
                    "status": DONE if done else PENDING,
                    **({"finished_at": iso(ctx.clock.now())} if done else {}),
                },
            )
        return len(recipients)

    async def accept(
        self,
        account_id: str,
        *,
        version: int | None,
        ip: str,
        user_agent: str,
    ) -> TermsDecision:
        """Record the acceptance of the current version (version, hash, instant, IP, user
        agent) and publish it: consent becomes active on that event. After a refusal of the
        CGU the answer is 409 `terms-refused`: the refusal is final."""
        return await _retried(
            lambda: self._accept(account_id, version=version, ip=ip, user_agent=user_agent)
        )

    async def _accept(
        self, account_id: str, *, version: int | None, ip: str, user_agent: str
    ) -> TermsDecision:
        ctx = self._ctx
        now = ctx.clock.now()
        async with ctx.outbox.transaction() as tx:
            account = await self._recipient(tx, account_id)
            if has_refused_terms(account):
                raise errors.terms_refused()
            current = await self._in_force(tx, version)
            if account.get("accepted_terms_version") == current.version:
                return TermsDecision(current.version, accepted=True, terminated=False)
            decision_id = f"{account_id}:{current.version}"
            existing = await tx.get(TERMS_DECISIONS, decision_id)
            if existing is not None and existing["decision"] == "refused":
                # A refusal recorded before accounts carried it (`terms_refused_at`).
                raise errors.terms_refused()
            await put(
                tx,
                TERMS_DECISIONS,
                {
                    "_id": decision_id,
                    "account_id": account_id,
                    "version": current.version,
                    "content_hash": current.content_hash,
                    "decision": "accepted",
                    "at": iso(now),
                    "ip": ip,
                    "user_agent": user_agent[:500],
                    **({VERSION: existing[VERSION]} if existing else {}),
                },
            )
            await put(tx, ACCOUNTS, {**account, "accepted_terms_version": current.version})
            await ctx.emit(
                tx,
                TermsAcceptedV1(
                    account_id=account_id,
                    declaration_id=account.get("declaration_id"),
                    terms_version=current.version,
                    content_hash=current.content_hash,
                    accepted_at=now,
                ),
                subject=account_subject(account_id),
                actor=account_subject(account_id),
            )
        return TermsDecision(current.version, accepted=True, terminated=False)

    async def refuse(
        self,
        account_id: str,
        *,
        version: int | None,
        session_id: str | None,
        ip: str,
        user_agent: str,
    ) -> TermsDecision:
        """Refusal: no access, for good. Refusing a first version leaves the account without
        consent and without access: every session of the account ends (`session_id`, the one
        answering, among them) and no login opens one again. Refusing a new version after an
        earlier acceptance terminates the account. Refusing again answers the decision on
        record and changes nothing."""
        return await _retried(
            lambda: self._refuse(
                account_id, version=version, session_id=session_id, ip=ip, user_agent=user_agent
            )
        )

    async def _refuse(
        self,
        account_id: str,
        *,
        version: int | None,
        session_id: str | None,
        ip: str,
        user_agent: str,
    ) -> TermsDecision:
        ctx = self._ctx
        now = ctx.clock.now()
        async with ctx.outbox.transaction() as tx:
            on_record = await self._refusal_on_record(tx, account_id)
            if on_record is not None:
                return on_record
            account = await self._recipient(tx, account_id)
            current = await self._in_force(tx, version)
            if account.get("accepted_terms_version") == current.version:
                raise errors.IdentityError(
                    409, "terms-already-accepted", "This version is already accepted."
                )
            terminates = account.get("accepted_terms_version") is not None
            decision_id = f"{account_id}:{current.version}"
            await put(
                tx,
                TERMS_DECISIONS,
                {
                    "_id": decision_id,
                    "account_id": account_id,
                    "version": current.version,
                    "content_hash": current.content_hash,
                    "decision": "refused",
                    "at": iso(now),
                    "ip": ip,
                    "user_agent": user_agent[:500],
                    **(await _existing_version(tx, decision_id)),
                },
            )
            await ctx.emit(
                tx,
                TermsRefusedV1(
                    account_id=account_id,
                    declaration_id=account.get("declaration_id"),
                    terms_version=current.version,
                    refused_at=now,
                    leads_to_termination=terminates,
                ),
                subject=account_subject(account_id),
                actor=account_subject(account_id),
            )
            if terminates:
                await terminate_in(ctx, tx, account, TerminationReason.TERMS_REFUSED)
            else:
                await put(
                    tx,
                    ACCOUNTS,
                    {
                        **account,
                        "terms_refused_at": iso(now),
                        "terms_refused_version": current.version,
                    },
                )
                await self._end_sessions(tx, account_id, session_id)
        return TermsDecision(current.version, accepted=False, terminated=terminates)

    async def _end_sessions(self, tx: Transaction, account_id: str, answering: str | None) -> None:
        """Every live session of the account ends (the one answering first)."""
        live = await tx.find(
            SESSIONS, {"account_id": account_id, "revoked_at": None}, sort=[("_id", 1)]
        )
        live.sort(key=lambda session: session["_id"] != answering)
        for session in live:
            await revoke_session(
                self._ctx,
                tx,
                session,
                SessionRevocationReason.TERMS_REFUSED,
                account_subject(account_id),
            )

    async def _refusal_on_record(self, tx: Transaction, account_id: str) -> TermsDecision | None:
        """The decision of an account that already refused the CGU: a first version (no
        access) or a later one (terminated for it); None if it has not."""
        account = await tx.get(ACCOUNTS, account_id)
        if account is None or account["role"] != AccountRole.RECIPIENT:
            return None
        if has_refused_terms(account):
            return TermsDecision(
                int(account["terms_refused_version"]), accepted=False, terminated=False
            )
        if account.get("termination_reason") == TerminationReason.TERMS_REFUSED:
            refused = await tx.find(
                TERMS_DECISIONS,
                {"account_id": account_id, "decision": "refused"},
                sort=[("version", -1)],
                limit=1,
            )
            if refused:
                return TermsDecision(int(refused[0]["version"]), accepted=False, terminated=True)
        return None

    async def _recipient(self, tx: Transaction, account_id: str) -> Document:
        account = await tx.get(ACCOUNTS, account_id)
        if account is None:
            raise errors.not_found("account")
        if account["role"] != AccountRole.RECIPIENT or account["status"] != AccountStatus.ACTIVE:
            raise errors.IdentityError(
                409, "terms-not-applicable", "This account has no CGU to answer."
            )
        return account

    async def _in_force(self, tx: Transaction, version: int | None) -> TermsVersion:
        number = await current_terms_version(tx, self._ctx.clock.now())
        if number is None:
            raise errors.not_found("terms")
        if version is not None and version != number:
            raise errors.IdentityError(
                409,
                "terms-version-changed",
                "Another CGU version is now in force: read it before answering.",
                extra={"current_version": number},
            )
        document = await tx.get(TERMS, terms_id(number))
        assert document is not None
        return TermsVersion.of(document)


async def _retried(decide: Callable[[], Awaitable[TermsDecision]]) -> TermsDecision:
    """A decision whose transaction lost a race (a concurrent answer of the same account)
    runs again on what is now stored: it then sees the other answer."""
    for _ in range(DECISION_TRIES - 1):
        try:
            return await decide()
        except (VersionConflictError, DuplicateKeyError):
            continue
    return await decide()


async def _existing_version(tx: Transaction, doc_id: str) -> dict[str, int]:
    existing = await tx.get(TERMS_DECISIONS, doc_id)
    return {"_version": int(existing["_version"])} if existing else {}
