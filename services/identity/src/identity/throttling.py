"""Failure throttles of the login and of the token endpoint, counted in the store.

An attempt is counted as a failure of each of its keys (the address, the identifier or client id
typed: HMACs) *before* its secret is checked (`Throttles.reserve`), so concurrent guesses cannot
all pass a counter none of them has incremented yet. A right secret then takes the count back
(`Throttles.refund`); a key locked now refuses the attempt without counting it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from identity.records import THROTTLES, Context, iso, put, save_throttle, throttle_state
from shared.store.port import DuplicateKeyError, Transaction, VersionConflictError, version_of

log = logging.getLogger(__name__)

# Transactions retried when a concurrent attempt on the same throttle or account wrote first.
RESERVATION_TRIES = 20


@dataclass(frozen=True)
class Reservation:
    """An attempt counted before its secret is checked: when (`at`) and, per throttle key
    counted, its last failure before this one (to give it back if the secret was right); or
    `retry_after` seconds when a key was locked (`locked`, in the order asked) and nothing was
    counted."""

    at: datetime
    previous: dict[str, str | None]
    retry_after: int | None = None
    locked: tuple[str, ...] = field(default=())


async def refund_attempt(tx: Transaction, key: str, reservation: Reservation) -> None:
    """Take back the failure `reservation` counted on `key` (the secret was right). The last
    failure instant is restored unless another failure was counted since."""
    document = await tx.get(THROTTLES, key)
    if document is None:
        return
    failures = int(document.get("failures", 0)) - 1
    if failures <= 0:
        await tx.delete(THROTTLES, key, expected_version=version_of(document))
        return
    last = document.get("last_failure_at")
    if last == iso(reservation.at):
        last = reservation.previous.get(key) or last
    await put(tx, THROTTLES, {**document, "failures": failures, "last_failure_at": last})


class Throttles:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    async def reserve(self, limits: Sequence[tuple[str, int]]) -> Reservation:
        """Count one attempt on each `(throttle key, free failures)` in one transaction, unless
        one of them is locked now (then nothing is counted: `retry_after` says how long)."""
        ctx = self._ctx
        for _ in range(RESERVATION_TRIES):
            now = ctx.clock.now()
            try:
                async with ctx.store.transaction() as tx:
                    read = [(key, free, *await throttle_state(tx, key)) for key, free in limits]
                    waits = {
                        key: wait
                        for key, free, state, _ in read
                        if (wait := state.retry_after(now, free, ctx.max_delay)) is not None
                    }
                    if waits:
                        return Reservation(
                            now, {}, retry_after=max(waits.values()), locked=tuple(waits)
                        )
                    forget_at = now + max(ctx.forget_after, ctx.max_delay)
                    for _, _, state, document in read:
                        await save_throttle(
                            tx, document, state.after_failure(now, ctx.forget_after), forget_at
                        )
            except (VersionConflictError, DuplicateKeyError):
                # A concurrent attempt counted itself first: read the counters again.
                continue
            return Reservation(
                now, {key: document.get("last_failure_at") for key, _, _, document in read}
            )
        # Still contended after many tries: the keys are under a flood of attempts.
        log.warning("throttle contended: attempt refused")
        return Reservation(
            ctx.clock.now(), {}, retry_after=1, locked=tuple(key for key, _ in limits)
        )

    async def refund(self, reservation: Reservation, keys: Sequence[str]) -> None:
        """Give back the attempt counted on `keys` (each in `reservation`), in its own
        transaction; a contended key keeps it (one failure too many at worst)."""
        for _ in range(RESERVATION_TRIES):
            try:
                async with self._ctx.store.transaction() as tx:
                    for key in keys:
                        await refund_attempt(tx, key, reservation)
                return
            except VersionConflictError:
                continue
        log.warning("throttle contended: an attempt was not refunded")
