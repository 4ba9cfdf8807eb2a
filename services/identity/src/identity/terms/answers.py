"""A recipient's answer to the CGU: the acceptance (the consent to electronic service) or
the refusal (final: no access; after an earlier acceptance, termination)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from identity import errors
from identity.accounts import terminate_in
from identity.domain import AccountStatus
from identity.notices import binding_terms_version
from identity.records import ACCOUNTS, SESSIONS, TERMS, TERMS_DECISIONS, account_subject, iso, put
from identity.sessions import current_terms_version, has_refused_terms, revoke_session
from identity.terms.versions import TermsReads, TermsVersion, terms_id
from shared.contracts.identity import (
    AccountRole,
    SessionRevocationReason,
    TerminationReason,
    TermsAcceptedV1,
    TermsRefusedV1,
)
from shared.store.port import (
    VERSION,
    Document,
    DuplicateKeyError,
    Transaction,
    VersionConflictError,
    version_of,
)

# A CGU answer that lost a race with another answer of the same account is run again once.
DECISION_TRIES = 2


@dataclass(frozen=True)
class TermsDecision:
    version: int
    accepted: bool
    terminated: bool


class Answers(TermsReads):
    """A recipient's answer to the version binding it: acceptance or refusal."""

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
    return {VERSION: version_of(existing)} if existing else {}
