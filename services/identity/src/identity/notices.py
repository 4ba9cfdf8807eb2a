"""CGU notices per account, and when a new version binds an account (CGU §4, §16).

A new version binds an account no earlier than 24:00 of the day one month after the account's
notice was deemed received (CPC 641, extended to the next *jour ouvrable* per CPC 642), nor
before the version's own effective date. The notice is deemed received on the first *jour
ouvré* after its first presentation (CGU §16): notify presents it (the relay accepts the
e-mail) and says when it is deemed received (`notify.notification-sent.v1`, whose
`source_event_id` is the notice's event). An account whose notice failed or never left is not
bound by the version: it stays under the one it accepted.

Identity does not know the person's territory (the declaration it opens accounts from does not
carry it): the deemed date and the 24:00 are taken at the latest over every territory, as
notify does. A later date only gives the person more time.

A version binding an account that has not answered it never withholds the acts: the account
keeps its act scopes and may answer (`sessions.scopes_for`). An account that never accepted a
version is not under notice: it accepts the version in force at its first login.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from identity.records import (
    ACCOUNTS,
    TERMS,
    TERMS_NOTICES,
    Context,
    account_subject,
    instant,
    iso,
)
from shared.contracts.identity import AccountRole, TermsNoticeIssuedV1
from shared.contracts.notify import NotificationFailedV1, NotificationKind, NotificationSentV1
from shared.legal_calendar import (
    BusinessDays,
    Territory,
    first_business_day_after_presentation,
    notice_period_end,
)
from shared.store.port import Document, DocumentReader, Transaction, version_of, without_meta

ISSUED = "issued"
PRESENTED = "presented"
FAILED = "failed"
# The person's territory is not known to identity: every candidate, the latest date wins.
TERRITORIES = tuple(Territory)


def notice_id(account_id: str, version: int) -> str:
    return f"{account_id}:v{version:05d}"


def deemed_received_on(presented_at: datetime) -> date:
    """CGU §16: the first *jour ouvré* after the first presentation (latest over territories)."""
    return max(
        first_business_day_after_presentation(presented_at, territory, BusinessDays.JOURS_OUVRES)
        for territory in TERRITORIES
    )


def binds_from(deemed_on: date, version_effective_at: datetime, notice_months: int) -> datetime:
    """When a version binds an account whose notice was deemed received on `deemed_on`."""
    return max(version_effective_at, notice_period_end(deemed_on, notice_months, TERRITORIES))


@dataclass(frozen=True)
class NoticeCounts:
    """Per version: accounts notified, notices failed, deemed received, bound (now)."""

    version: int
    effective_at: datetime
    notified: int
    failed: int
    deemed_received: int
    bound: int
    accepted: int


async def issue_notice(
    ctx: Context, tx: Transaction, account: Document, version: Document, *, actor: str
) -> bool:
    """Warn the account of `version` (once): the event for notify and the account's notice
    record. The event's `effective_at` is when the version would bind the account were the
    notice presented now; the binding date on record waits for the presentation."""
    account_id = str(account["_id"])
    number = int(version["version"])
    if await tx.get(TERMS_NOTICES, notice_id(account_id, number)) is not None:
        return False
    now = ctx.clock.now()
    effective_at = instant(version["effective_at"])
    assert effective_at is not None
    projected = binds_from(deemed_received_on(now), effective_at, ctx.settings.terms_notice_months)
    envelope = ctx.envelope(
        TermsNoticeIssuedV1(
            account_id=account_id,
            email=account["email"],
            terms_version=number,
            effective_at=projected,
        ),
        subject=account_subject(account_id),
        actor=actor,
    )
    await tx.insert(
        TERMS_NOTICES,
        {
            "_id": notice_id(account_id, number),
            "account_id": account_id,
            "version": number,
            "event_id": envelope.event_id,
            "status": ISSUED,
            "issued_at": iso(now),
            "presented_at": None,
            "deemed_received_on": None,
            "bound_at": None,
        },
    )
    await ctx.outbox.add(tx, envelope)
    return True


async def notice_presented(ctx: Context, tx: Transaction, event: NotificationSentV1) -> None:
    """Notify handed the notice over: record its first presentation, when it is deemed
    received and from when the version binds the account. Later copies change nothing."""
    notice = await _notice_of(tx, event.kind, event.source_event_id)
    if notice is None or notice["status"] == PRESENTED:
        return
    version = await tx.get(TERMS, f"v{int(notice['version']):05d}")
    assert version is not None
    effective_at = instant(version["effective_at"])
    assert effective_at is not None
    deemed = max(deemed_received_on(event.accepted_at), event.deemed_received_on or date.min)
    await tx.replace(
        TERMS_NOTICES,
        {
            **without_meta(notice),
            "status": PRESENTED,
            "presented_at": iso(event.accepted_at),
            "deemed_received_on": deemed.isoformat(),
            "bound_at": iso(binds_from(deemed, effective_at, ctx.settings.terms_notice_months)),
        },
        expected_version=version_of(notice),
    )


async def notice_failed(tx: Transaction, event: NotificationFailedV1) -> None:
    """The notice could not be handed over: the version does not bind the account."""
    notice = await _notice_of(tx, event.kind, event.source_event_id)
    if notice is None or notice["status"] != ISSUED:
        return
    await tx.replace(
        TERMS_NOTICES,
        {
            **without_meta(notice),
            "status": FAILED,
            "failed_at": iso(event.failed_at),
        },
        expected_version=version_of(notice),
    )


async def _notice_of(
    tx: Transaction, kind: NotificationKind, source_event_id: str
) -> Document | None:
    if kind is not NotificationKind.TERMS_NOTICE:
        return None
    found = await tx.find(TERMS_NOTICES, {"event_id": source_event_id}, limit=1)
    return found[0] if found else None


async def binding_terms_version(
    reader: DocumentReader, account: Document, current: int | None, now: datetime
) -> int | None:
    """The CGU version that binds `account` now, given the version in force (`current`): for
    an account that never accepted one, the version in force (its first login accepts it);
    otherwise the latest version after the accepted one whose notice to this account ran its
    month, or the accepted one itself."""
    accepted = account.get("accepted_terms_version")
    if current is None or accepted is None or account["role"] != AccountRole.RECIPIENT:
        return current
    accepted = int(accepted)
    if accepted >= current:
        return accepted
    moment = iso(now)
    bound: list[int] = []
    for notice in await reader.find(TERMS_NOTICES, {"account_id": account["_id"]}):
        number = int(notice["version"])
        binds_at = notice.get("bound_at")
        if not accepted < number <= current or not binds_at:
            continue
        if binds_at <= moment or await _declared_in_force_at(reader, number, binds_at):
            bound.append(number)
    return max(bound, default=accepted)


async def _declared_in_force_at(reader: DocumentReader, version: int, binds_at: str) -> bool:
    """Retention declared the version in force and the account is bound from the version's own
    date: a replica whose clock lags retention's must not keep the previous one."""
    document = await reader.get(TERMS, f"v{version:05d}")
    return bool(document and document.get("in_force_at") and document["effective_at"] == binds_at)


async def notice_counts(ctx: Context, version: Document) -> NoticeCounts:
    """What the operator sees of a version's notices (counted now)."""
    number = int(version["version"])
    store = ctx.store
    moment = iso(ctx.clock.now())
    notices = await store.find(TERMS_NOTICES, {"version": number})
    effective_at = instant(version["effective_at"])
    assert effective_at is not None
    later = [int(v["version"]) for v in await store.find(TERMS, {"version": {"$gte": number}})]
    accepted = await store.count(
        ACCOUNTS, {"role": AccountRole.RECIPIENT.value, "accepted_terms_version": {"$in": later}}
    )
    return NoticeCounts(
        version=number,
        effective_at=effective_at,
        notified=len(notices),
        failed=sum(1 for n in notices if n["status"] == FAILED),
        deemed_received=sum(1 for n in notices if n["status"] == PRESENTED),
        bound=sum(1 for n in notices if n.get("bound_at") and n["bound_at"] <= moment),
        accepted=accepted,
    )
