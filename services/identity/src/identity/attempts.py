"""The identification journal (CGU §7.4, §17) at a cost anonymous callers cannot inflate.

Every journaled event becomes a permanent leaf of audit's Merkle tree, so one event per failed
login or token request would let anyone grow the journal as fast as they can send requests.
Successes are journaled one by one (`identification-attempted`). Failures (wrong or unknown
credentials, lockouts, suspended accounts, a second factor missing or wrong) are journaled per
*window* of a key: the first failure of the key opens a window of
`identification_window_seconds` and is journaled at once, by itself; later failures of the
window are only counted in the window's record, and one `identification-attempts-summarized`
event gives their count when the window is closed:

- by the key's next attempt after the window's end (in that attempt's transaction),
- by a success of the key (just before the success's own event, so the journal keeps the order
  in which things happened),
- or by the background job (`close_due`) for a window nobody came back to.

A key is the HMAC of the identifier or client id typed (`identifier:…`, `client:…`), or the
address's (`ip:…`, `token-ip:…`) when an attempt was refused by the address's lockout: an
address trying many identifiers is bounded by its own lockout, and its refused attempts by its
own window. The window record is written in the transaction of the events it stands for, so a
count is neither lost nor journaled twice, whatever the process does between two attempts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from identity.records import ATTEMPT_WINDOWS, Context, account_subject, instant, iso, put
from identity.throttling import RESERVATION_TRIES, Reservation, refund_attempt
from shared.contracts.identity import (
    AttemptCounter,
    IdentificationAttemptedV1,
    IdentificationAttemptsSummarizedV1,
    IdentificationOutcome,
)
from shared.metrics import instruments
from shared.store.port import (
    VERSION,
    Document,
    Transaction,
    VersionConflictError,
    version_of,
)

log = logging.getLogger(__name__)

# Distinct address HMACs a summary names; past that it only says there were more.
SUMMARY_ADDRESSES = 20
CLOSE_BATCH = 200


@dataclass(frozen=True)
class Attempt:
    """One identification attempt, as the journal may record it (never what was typed)."""

    outcome: IdentificationOutcome
    ip_hash: str
    account_id: str | None = None
    client_id: str | None = None
    second_factor: bool = False

    def event(self) -> IdentificationAttemptedV1:
        return IdentificationAttemptedV1(
            account_id=self.account_id,
            client_id=self.client_id,
            outcome=self.outcome,
            ip_hash=self.ip_hash,
            second_factor=self.second_factor,
        )


def subject_of(account_id: str | None, client_id: str | None) -> str:
    if account_id:
        return account_subject(account_id)
    if client_id:
        return f"client:{client_id}"
    return "identification:unknown"


def counter_of(key: str) -> AttemptCounter:
    kind = key.split(":", 1)[0]
    if kind == "identifier":
        return AttemptCounter.IDENTIFIER
    if kind == "client":
        return AttemptCounter.CLIENT
    return AttemptCounter.ADDRESS


def count_attempt(key: str, attempt: Attempt) -> None:
    """Count a settled attempt in the metrics: by outcome, who tried (an account or a client)
    and, when throttled, which counter refused it; never the key's HMAC itself."""
    party = "client" if attempt.client_id else "account"
    if attempt.outcome is IdentificationOutcome.THROTTLED:
        instruments().logins_throttled.add(
            1, {"securact.login.party": party, "securact.login.counter": counter_of(key).value}
        )
    elif attempt.outcome in (IdentificationOutcome.FAILED, IdentificationOutcome.SUSPENDED):
        instruments().logins_failed.add(
            1, {"securact.login.party": party, "securact.login.outcome": attempt.outcome.value}
        )


class AttemptJournal:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    @property
    def window(self) -> timedelta:
        return timedelta(seconds=self._ctx.settings.identification_window_seconds)

    async def settle(
        self, key: str, attempt: Attempt, *, refund: Reservation | None = None
    ) -> None:
        """Journal a failed attempt on `key`'s window in its own transaction, giving back its
        throttle reservation when the secret was right (`refund`: not a failure)."""
        ctx = self._ctx
        for _ in range(RESERVATION_TRIES):
            try:
                async with ctx.outbox.transaction() as tx:
                    if refund is not None:
                        for reserved in refund.previous:
                            await refund_attempt(tx, reserved, refund)
                    await self.failed(tx, key, attempt)
                count_attempt(key, attempt)
                return
            except VersionConflictError:
                continue
        # The window is under a flood of concurrent attempts: this one is journaled by itself
        # rather than lost (and a contended refund stays a failure, at worst one too many).
        log.warning("identification window contended: attempt journaled by itself")
        async with ctx.outbox.transaction() as tx:
            await ctx.emit(
                tx, attempt.event(), subject=subject_of(attempt.account_id, attempt.client_id)
            )
        count_attempt(key, attempt)

    async def failed(self, tx: Transaction, key: str, attempt: Attempt) -> None:
        """Journal a failed attempt of `key` in `tx`: by itself if it opens a window (closing
        an ended one first), otherwise counted in the open window."""
        ctx = self._ctx
        now = ctx.clock.now()
        window = await tx.get(ATTEMPT_WINDOWS, key)
        closes_at = instant(window["closes_at"]) if window else None
        if window is not None and closes_at is not None and now < closes_at:
            await put(tx, ATTEMPT_WINDOWS, _counted(window, attempt, iso(now)))
            return
        if window is not None:
            await self._summarize(tx, window)
        # Only the key's own holder is named: an address's window spans many identifiers.
        named = counter_of(key) != AttemptCounter.ADDRESS
        await put(
            tx,
            ATTEMPT_WINDOWS,
            {
                "_id": key,
                "opened_at": iso(now),
                "closes_at": iso(now + self.window),
                "account_id": attempt.account_id if named else None,
                "client_id": attempt.client_id if named else None,
                "outcomes": {},
                **({VERSION: window[VERSION]} if window is not None else {}),
            },
        )
        await ctx.emit(
            tx, attempt.event(), subject=subject_of(attempt.account_id, attempt.client_id)
        )

    async def succeeded(self, tx: Transaction, key: str, attempt: Attempt, *, actor: str) -> None:
        """Journal a success of `key` in `tx`, after the summary of the failures its window
        counted so far (the window ends with it)."""
        window = await tx.get(ATTEMPT_WINDOWS, key)
        if window is not None:
            await self._summarize(tx, window)
            await tx.delete(ATTEMPT_WINDOWS, key, expected_version=version_of(window))
        await self._ctx.emit(
            tx,
            attempt.event(),
            subject=subject_of(attempt.account_id, attempt.client_id),
            actor=actor,
        )

    async def close_due(self) -> int:
        """Summarize and delete the windows that have ended (the background job's work);
        returns how many summaries were journaled."""
        ctx = self._ctx
        summaries = 0
        skipped: set[str] = set()
        while True:
            due = [
                row
                for row in await ctx.store.find(
                    ATTEMPT_WINDOWS,
                    {"closes_at": {"$lte": iso(ctx.clock.now())}},
                    sort=[("closes_at", 1)],
                    limit=CLOSE_BATCH + len(skipped),
                )
                if row["_id"] not in skipped
            ]
            if not due:
                return summaries
            for row in due:
                try:
                    async with ctx.outbox.transaction() as tx:
                        window = await tx.get(ATTEMPT_WINDOWS, row["_id"])
                        closes_at = instant(window["closes_at"]) if window else None
                        if window is None or closes_at is None or closes_at > ctx.clock.now():
                            continue
                        summaries += await self._summarize(tx, window)
                        await tx.delete(
                            ATTEMPT_WINDOWS, window["_id"], expected_version=version_of(window)
                        )
                except VersionConflictError:
                    # An attempt of the key wrote it meanwhile: that attempt or the next run
                    # closes it.
                    skipped.add(row["_id"])

    async def run(self) -> None:
        """The background job (`ServiceRuntime.every`)."""
        closed = await self.close_due()
        if closed:
            log.info("%d identification windows summarized", closed)

    async def _summarize(self, tx: Transaction, window: Document) -> int:
        """Journal the summary of what `window` counted after its first attempt, if anything."""
        outcomes = {IdentificationOutcome(k): int(v) for k, v in window["outcomes"].items()}
        if not outcomes:
            return 0
        first_at = instant(window["first_at"])
        last_at = instant(window["last_at"])
        opened_at = instant(window["opened_at"])
        assert first_at is not None
        assert last_at is not None
        assert opened_at is not None
        await self._ctx.emit(
            tx,
            IdentificationAttemptsSummarizedV1(
                account_id=window.get("account_id"),
                client_id=window.get("client_id"),
                counted_by=counter_of(str(window["_id"])),
                attempts=sum(outcomes.values()),
                outcomes=outcomes,
                second_factor_attempts=int(window.get("second_factor", 0)),
                window_opened_at=opened_at,
                first_attempt_at=first_at,
                last_attempt_at=last_at,
                ip_hashes=list(window.get("ip_hashes", [])),
                more_addresses=bool(window.get("more_addresses")),
            ),
            subject=subject_of(window.get("account_id"), window.get("client_id")),
        )
        return 1


def _counted(window: Document, attempt: Attempt, at: str) -> Document:
    """The window with one more attempt counted."""
    outcomes = dict(window["outcomes"])
    outcomes[attempt.outcome.value] = int(outcomes.get(attempt.outcome.value, 0)) + 1
    addresses = list(window.get("ip_hashes", []))
    more = bool(window.get("more_addresses"))
    if attempt.ip_hash not in addresses:
        if len(addresses) < SUMMARY_ADDRESSES:
            addresses.append(attempt.ip_hash)
        else:
            more = True
    return {
        **window,
        "outcomes": outcomes,
        "second_factor": int(window.get("second_factor", 0)) + int(attempt.second_factor),
        "first_at": window.get("first_at") or at,
        "last_at": at,
        "ip_hashes": addresses,
        "more_addresses": more,
    }
