"""Post-mortem directives (loi 78-17 art. 85): the holder says what becomes of their data
after their death — erased at once, or kept on the usual schedule — and may name a person to
be informed. They change or revoke them at any time; an operator records the death, which
terminates the account and hands retention the one thing it applies (`erasure`).

The directives live with the account, in identity's store, and go with its contact data
(retention's contact-data purge, or the account's deletion). Events say that directives were
recorded, changed or revoked, never what they say; at death, retention learns the erasure
choice only, and notify the designated person's name and address only to write to them.

The erasure "at once" is the account's erasure as for a terminated account, run now: what the
law keeps longer (the offices' signed evidence and receipts, the registry's five years after
the consent ended, the tombstones) is kept all the same.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from pydantic import BaseModel

from identity import errors
from identity.accounts import terminate_in
from identity.domain import AccountStatus
from identity.records import (
    ACCOUNTS,
    POST_MORTEM_DIRECTIVES,
    Context,
    account_subject,
    instant,
    iso,
    put,
)
from identity.sessions import revoke_credentials
from shared.contracts.identity import (
    AccountRole,
    CredentialRevocationReason,
    DeathRecordedV1,
    DirectivesChange,
    PostMortemDirectivesChangedV1,
    PostMortemErasure,
    PostMortemNoticeRequestedV1,
    TerminationReason,
)
from shared.ids import new_id
from shared.store.port import Document, Transaction

MAX_NAME = 200
MAX_JUSTIFICATION = 200
# Why the account can no longer log in (the suspension's reason code, no names).
DECEASED_SUSPENSION = "deceased"


class PostMortemDirectives(BaseModel):
    """The holder's directives as they last recorded them."""

    account_id: str
    erasure: PostMortemErasure
    designated_name: str | None = None
    designated_email: str | None = None
    recorded_at: datetime
    changed_at: datetime


class DeathRecord(BaseModel):
    """What the operator recorded, and how the directives were applied."""

    account_id: str
    died_on: date
    justification: str
    recorded_at: datetime
    erasure: PostMortemErasure
    designated_person_informed: bool


def _view(row: Document) -> PostMortemDirectives:
    recorded = instant(row["recorded_at"])
    changed = instant(row["changed_at"])
    assert recorded is not None
    assert changed is not None
    return PostMortemDirectives(
        account_id=row["_id"],
        erasure=PostMortemErasure(row["erasure"]),
        designated_name=row.get("designated_name"),
        designated_email=row.get("designated_email"),
        recorded_at=recorded,
        changed_at=changed,
    )


def invalid(detail: str) -> errors.IdentityError:
    return errors.IdentityError(422, "directives-invalid", detail)


def check_designated(name: str | None, email: str | None) -> tuple[str | None, str | None]:
    """Both or neither: a person to inform needs a name and an address. Returns them trimmed
    (None when absent); the address's syntax is checked by the callers' typed models."""
    name = (name or "").strip() or None
    email = (email or "").strip() or None
    if (name is None) != (email is None):
        raise invalid("A designated person needs both a name and an e-mail address.")
    if name is not None and len(name) > MAX_NAME:
        raise invalid(f"The designated person's name is longer than {MAX_NAME} characters.")
    return name, email


async def _living_recipient(tx: Transaction, account_id: str) -> Document:
    account = await tx.get(ACCOUNTS, account_id)
    if account is None:
        raise errors.not_found("account")
    if account["role"] != AccountRole.RECIPIENT:
        raise errors.IdentityError(
            403, "not-a-recipient", "Only a recipient account has post-mortem directives."
        )
    if account.get("death_recorded_at"):
        raise errors.IdentityError(
            409, "death-already-recorded", "A death is recorded for this account."
        )
    if account["status"] == AccountStatus.DELETED:
        raise errors.IdentityError(409, "account-deleted", "The account is deleted.")
    return account


class Directives:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    async def of_account(self, account_id: str) -> PostMortemDirectives | None:
        row = await self._ctx.store.get(POST_MORTEM_DIRECTIVES, account_id)
        return _view(row) if row is not None else None

    async def record(
        self,
        account_id: str,
        erasure: PostMortemErasure,
        *,
        designated_name: str | None = None,
        designated_email: str | None = None,
    ) -> PostMortemDirectives:
        """Record the holder's directives, or replace the ones recorded (any time)."""
        name, email = check_designated(designated_name, designated_email)
        ctx = self._ctx
        now = ctx.clock.now()
        async with ctx.outbox.transaction() as tx:
            await _living_recipient(tx, account_id)
            previous = await tx.get(POST_MORTEM_DIRECTIVES, account_id)
            row = await put(
                tx,
                POST_MORTEM_DIRECTIVES,
                {
                    **(previous or {"_id": account_id, "recorded_at": iso(now)}),
                    "erasure": erasure.value,
                    "designated_name": name,
                    "designated_email": email,
                    "changed_at": iso(now),
                },
            )
            change = DirectivesChange.CHANGED if previous else DirectivesChange.RECORDED
            await self._changed(tx, account_id, change, now)
        return _view(row)

    async def revoke(self, account_id: str) -> None:
        """Revoke the directives: the usual schedule applies, no one is informed. 404 when
        there are none."""
        ctx = self._ctx
        now = ctx.clock.now()
        async with ctx.outbox.transaction() as tx:
            await _living_recipient(tx, account_id)
            if await tx.get(POST_MORTEM_DIRECTIVES, account_id) is None:
                raise errors.not_found("directives")
            await tx.delete(POST_MORTEM_DIRECTIVES, account_id)
            await self._changed(tx, account_id, DirectivesChange.REVOKED, now)

    async def _changed(
        self, tx: Transaction, account_id: str, change: DirectivesChange, now: datetime
    ) -> None:
        subject = account_subject(account_id)
        await self._ctx.emit(
            tx,
            PostMortemDirectivesChangedV1(account_id=account_id, change=change, changed_at=now),
            subject=subject,
            actor=subject,
        )

    async def record_death(
        self, account_id: str, died_on: date, justification: str, *, operator: str
    ) -> DeathRecord:
        """An operator records the holder's death (with the reference of the document that
        proves it): no login any more, the account terminated if it was not, the directives
        handed to retention (`DeathRecordedV1`) and the designated person informed."""
        ctx = self._ctx
        justification = errors.bounded_text(
            justification,
            MAX_JUSTIFICATION,
            code="death-justification-invalid",
            detail=f"Give the justification's reference in 1 to {MAX_JUSTIFICATION} characters.",
        )
        now = ctx.clock.now()
        # A day's slack: in the territories ahead of UTC (Nouméa, UTC+11) today may be
        # tomorrow in UTC.
        if died_on > (now + timedelta(days=1)).date():
            raise errors.IdentityError(422, "death-date-invalid", "The date is in the future.")
        actor = f"operator:{operator}"
        async with ctx.outbox.transaction() as tx:
            account = await _living_recipient(tx, account_id)
            directives = await tx.get(POST_MORTEM_DIRECTIVES, account_id)
            erasure = (
                PostMortemErasure(directives["erasure"])
                if directives
                else PostMortemErasure.SCHEDULED
            )
            if account["status"] != AccountStatus.TERMINATED:
                await terminate_in(ctx, tx, account, TerminationReason.DECEASED)
                account = await tx.get(ACCOUNTS, account_id) or account
            else:
                account = await revoke_credentials(
                    ctx, tx, account, CredentialRevocationReason.TERMINATION, actor
                )
            await put(
                tx,
                ACCOUNTS,
                {
                    **account,
                    # No one logs in with the deceased's password any more.
                    "suspended": True,
                    "suspension_reason": DECEASED_SUSPENSION,
                    "died_on": died_on.isoformat(),
                    "death_justification": justification,
                    "death_recorded_at": iso(now),
                    "death_recorded_by": operator,
                },
            )
            name = directives.get("designated_name") if directives else None
            email = directives.get("designated_email") if directives else None
            subject = account_subject(account_id)
            await ctx.emit(
                tx,
                DeathRecordedV1(
                    account_id=account_id,
                    declaration_id=account.get("declaration_id"),
                    recorded_at=now,
                    erasure=erasure,
                    designated_person=bool(email),
                ),
                subject=subject,
                actor=actor,
            )
            if name and email:
                await ctx.emit(
                    tx,
                    PostMortemNoticeRequestedV1(
                        account_id=account_id,
                        notice_id=new_id(now),
                        name=name,
                        email=email,
                        erasure=erasure,
                        recorded_at=now,
                    ),
                    subject=subject,
                    actor=actor,
                )
        return DeathRecord(
            account_id=account_id,
            died_on=died_on,
            justification=justification,
            recorded_at=now,
            erasure=erasure,
            designated_person_informed=bool(email),
        )


async def forget_directives(tx: Transaction, account_id: str) -> None:
    """The directives go with the account's contact data (they name a third person)."""
    await tx.delete(POST_MORTEM_DIRECTIVES, account_id)
