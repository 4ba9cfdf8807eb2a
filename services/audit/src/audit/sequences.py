"""Producer sequences: each producer's `producer_seq` observed as its events are journaled, and a
gap that stays open longer than the delay declared once as `audit.gap-detected.v1` (the rules
are `audit.gaps`)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from audit.context import Context
from audit.gaps import Arrival
from audit.repository import Producers
from shared.contracts.audit import GapDetectedV1
from shared.contracts.envelope import Envelope
from shared.metrics import instruments
from shared.store.port import Transaction

log = logging.getLogger(__name__)

Observed = tuple[str, Arrival, int]
"""A producer, how its sequence number arrived, the number."""


class ProducerTracking:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def track(
        self, tx: Transaction, envelopes: Sequence[Envelope], now: datetime
    ) -> list[Observed]:
        """Observe every producer sequence of a batch being journaled in `tx`: one read, one
        write per producer."""
        sequenced = [e for e in envelopes if e.producer_seq is not None]
        if not sequenced:
            return []
        producers = list(dict.fromkeys(e.producer for e in sequenced))
        trackers = await Producers.of(tx, producers)
        arrivals: list[Observed] = []
        for envelope in sequenced:
            seq = envelope.producer_seq
            assert seq is not None
            arrival = trackers[envelope.producer].observe(seq, now)
            arrivals.append((envelope.producer, arrival, seq))
        for tracker in trackers.values():
            await Producers.save(tx, tracker)
        return arrivals

    async def check_gaps(self) -> int:
        """Declare every gap older than the delay: one `audit.gap-detected.v1` each, through
        the outbox, in the same write that moves tracking past it (never declared twice)."""
        ctx = self.ctx
        declared = 0
        async with ctx.lock:
            for tracker in await ctx.producers.with_open_gap():
                now = ctx.clock.now()
                gap = tracker.overdue(now, ctx.config.gap_delay)
                if gap is None:
                    continue
                event = GapDetectedV1(
                    source_producer=gap.producer,
                    expected_seq=gap.expected_seq,
                    first_seen_seq=gap.first_seen_seq,
                    detected_at=now,
                )
                tracker.declare(gap, now)
                async with ctx.events.outbox.transaction() as tx:
                    await Producers.save(tx, tracker)
                    await ctx.emit(tx, event, subject=f"producer:{gap.producer}")
                declared += 1
                ctx.stats.count("gaps_detected", {"producer": gap.producer})
                instruments().journal_gaps.add(1, {"securact.producer": gap.producer})
                log.warning(
                    "gap in %s: producer_seq %d..%d never arrived",
                    gap.producer,
                    gap.expected_seq,
                    gap.first_seen_seq - 1,
                )
        return declared
