"""The sealed evidence report of an act (`GET …/evidence.pdf`): the act's signed evidence set,
written as a French PDF (`delivery.report_pdf`), the set attached, sealed and timestamped
(`delivery.seal`). Without a seal or a TSA configured, or with the TSA down, the report is
unavailable (503): never an unsealed or untimestamped report.
"""

from __future__ import annotations

import asyncio
from typing import Final

from delivery.acts import Act, StoredAct
from delivery.context import Context
from delivery.parties import declaration_of
from delivery.reads import Views
from delivery.report_pdf import evidence_bytes, render_report
from delivery.seal import ReportSealer, TimestampUnavailableError
from delivery.settings import Settings
from shared.clock import Clock
from shared.crypto.seal import load_or_create_dev_seal, load_seal
from shared.refusals import Refusal

DEV_SEAL_FILE: Final = "seal.json"


class ReportUnavailable(Refusal):
    status = 503
    code = "evidence-report-unavailable"
    title = "Evidence report unavailable"


def sealer_from_settings(settings: Settings, clock: Clock) -> ReportSealer | None:
    """The configured seal and TSA; in dev, a local test seal beside the other dev keys."""
    if not settings.tsa_url:
        return None
    if settings.seal_certificate_file is not None and settings.seal_key_file is not None:
        seal = load_seal(settings.seal_certificate_file, settings.seal_key_file)
    elif settings.is_dev:
        seal = load_or_create_dev_seal(settings.signing_key_file.parent / DEV_SEAL_FILE, clock)
    else:
        return None
    return ReportSealer(seal, settings.tsa_url)


class EvidenceReports:
    """Writes and seals an act's evidence report."""

    def __init__(self, ctx: Context, views: Views, sealer: ReportSealer | None) -> None:
        self.ctx = ctx
        self.views = views
        self.sealer = sealer

    async def report(self, act: StoredAct) -> bytes:
        sealer = self.sealer
        if sealer is None:
            raise ReportUnavailable("no seal certificate or no TSA is configured")
        evidence = (await self.views.evidence_set(act)).model_dump(mode="json")
        declaration = (
            await declaration_of(self.ctx.store, act.declaration_id)
            if isinstance(act, Act)
            else None
        )
        # Layout is CPU work (fonts, a few ms to tens of ms): off the event loop.
        pdf = await asyncio.to_thread(
            render_report,
            act,
            declaration,
            evidence,
            evidence_bytes(evidence),
            sealer.identity,
            self.ctx.signer.public_keys,
        )
        try:
            return await sealer.seal(pdf)
        except TimestampUnavailableError as error:
            raise ReportUnavailable(f"the TSA did not timestamp the report ({error})") from None
