"""CGU versions, their acceptance as consent and their refusal.

Versions are numbered from 1, carry their markdown text, its SHA-256 and an effective date. The
current version is the latest whose effective date has come; a later version binds each account
only from 24:00 of the day one month after its own notice was deemed received (`notices`). A
recipient that never accepted a version gets sessions that may only answer the CGU; one that
has a version to answer keeps its acts (see `sessions.scopes_for`) and may answer it. A refusal
is final, as consent treats it (the declaration stays refused): refusing before any acceptance
leaves the account without access (no login opens a session, accepting afterwards is 409
`terms-refused`); refusing a new version terminates the account.

Publishing warns every active recipient (one `terms-notice-issued` event each, which notify
e-mails). With many accounts one transaction per publication would be huge, so the publication
stores a durable fan-out job instead, in the same transaction as the version; a background job
writes the notices `terms_notice_batch_size` accounts per transaction, each batch committing its
notices together with the job's cursor (the last account id done). A crash loses at most an
uncommitted batch, which the next run redoes; the cursor only moves forward over account ids, so
each account gets exactly one notice (its notice record, keyed by account and version). The
recipients are those active at the publication (and still active when their batch runs);
accounts activated after the publication get theirs at activation (`Accounts.activate`).

The texts shipped with the service (`SHIPPED_TEXTS`) go through the same process: the first is
in force at the first start, each later one is published at start with the earliest effective
date a notice allows.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from importlib.resources import files

from identity import errors
from identity.accounts import terminate_in
from identity.domain import (
    AccountStatus,
    content_hash,
    latest_terms_effective_at,
)
from identity.notices import (
    NoticeCounts,
    binding_terms_version,
    binds_from,
    deemed_received_on,
    issue_notice,
    notice_counts,
)
from identity.records import (
    ACCOUNTS,
    FANOUTS,
    SESSIONS,
    TERMS,
    TERMS_DECISIONS,
    TERMS_NOTICES,
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


@dataclass(frozen=True)
class AccountNotice:
    version: int
    status: str
    presented_at: datetime | None
    deemed_received_on: date | None
    binds_from: datetime | None


@dataclass(frozen=True)
class AccountTerms:
    accepted_version: int | None
    binding_version: int | None
    notices: list[AccountNotice]


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

    async def notice_counts(self, version: int) -> NoticeCounts:
        """The operator's view of a version: accounts notified, deemed received, bound."""
        document = await self._ctx.store.get(TERMS, terms_id(version))
        if document is None:
            raise errors.not_found("terms")
        return await notice_counts(self._ctx, document)

    async def for_account(self, account_id: str) -> AccountTerms:
        """The CGU as they stand for one account: the version accepted, the one binding it,
        and its notice of each later version (deemed receipt, binding date)."""
        store = self._ctx.store
        account = await store.get(ACCOUNTS, account_id)
        if account is None:
            raise errors.not_found("account")
        now = self._ctx.clock.now()
        current = await current_terms_version(store, now)
        binding = await binding_terms_version(store, account, current, now)
        notices = await store.find(TERMS_NOTICES, {"account_id": account_id}, sort=[("version", 1)])
        return AccountTerms(
            accepted_version=account.get("accepted_terms_version"),
            binding_version=binding,
            notices=[
                AccountNotice(
                    version=int(n["version"]),
                    status=str(n["status"]),
                    presented_at=instant(n.get("presented_at")),
                    deemed_received_on=(
                        date.fromisoformat(n["deemed_received_on"])
                        if n.get("deemed_received_on")
                        else None
                    ),
                    binds_from=instant(n.get("bound_at")),
                )
                for n in notices
            ],
        )

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
            version = await tx.get(TERMS, terms_id(int(job["terms_version"])))
            assert version is not None
            for account in recipients:
                await issue_notice(ctx, tx, account, version, actor=str(job["actor"]))
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
        declaration_hash: str | None = None,
    ) -> TermsDecision:
        """Record the acceptance of the current version (version, hash, instant, IP, user
        agent, and the hash of the declaration statement the person validated with it) and
        publish it: consent becomes active on that event. After a refusal of the CGU the
        answer is 409 `terms-refused`: the refusal is final."""
        return await _retried(
            lambda: self._accept(
                account_id,
                version=version,
                ip=ip,
                user_agent=user_agent,
                declaration_hash=declaration_hash,
            )
        )

    async def _accept(
        self,
        account_id: str,
        *,
        version: int | None,
        ip: str,
        user_agent: str,
        declaration_hash: str | None,
    ) -> TermsDecision:
        ctx = self._ctx
        now = ctx.clock.now()
        async with ctx.outbox.transaction() as tx:
            account = await self._recipient(tx, account_id)
            if has_refused_terms(account):
                raise errors.terms_refused()
            current = await self._in_force(tx, account, version)
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
                    "declaration_hash": declaration_hash,
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
                    declaration_hash=declaration_hash,
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
            current = await self._in_force(tx, account, version)
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

    async def _in_force(
        self, tx: Transaction, account: Document, version: int | None
    ) -> TermsVersion:
        """The version the account answers: the one binding it now (`binding_terms_version`:
        the version in force at a first acceptance, else the latest whose notice to this
        account ran its month)."""
        now = self._ctx.clock.now()
        number = await binding_terms_version(tx, account, await current_terms_version(tx, now), now)
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
