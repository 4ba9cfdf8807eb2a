"""The notice fan-out of a publication: a durable job writes one notice per active recipient
in batches, each batch committing its notices with the job's cursor (the last account id
done), so a crash loses at most a batch and each account gets exactly one notice."""

from __future__ import annotations

import logging

from identity.domain import AccountStatus
from identity.notices import issue_notice
from identity.records import ACCOUNTS, FANOUTS, TERMS, iso, put
from identity.terms.versions import TermsReads, terms_id
from shared.contracts.identity import AccountRole
from shared.store.port import VersionConflictError

log = logging.getLogger(__name__)


NOTICE_FANOUT = "terms-notice"
PENDING = "pending"
DONE = "done"


class NoticeFanOut(TermsReads):
    """Writes each publication's notices, `terms_notice_batch_size` accounts per transaction."""

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
