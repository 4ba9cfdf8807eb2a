"""Issuing and reading an incident's outage attestation. Issued once, on the first request
after the incident closed: signed, stored with its PDF, and its fingerprints journaled
(`retention.outage-attested.v1`) in the same transaction; every later request reads the same
bytes. The receipts of the incident's opening and closing events are joined when audit has
them, else listed as missing with the reason."""

from __future__ import annotations

import base64
import logging

from retention.receipts import receipt_set
from retention.status.attestation import attestation_document, sign_attestation
from retention.status.context import StatusContext, StatusRefusal, not_found
from retention.status.records import Attestation
from shared.contracts.status import OutageAttestedV1
from shared.ids import new_id
from shared.store.port import DuplicateKeyError

log = logging.getLogger(__name__)


class Attestations:
    def __init__(self, ctx: StatusContext) -> None:
        self.ctx = ctx

    async def of_incident(self, incident_id: str) -> Attestation:
        ctx = self.ctx
        store = ctx.base.store
        existing = await ctx.attestations.get(store, incident_id)
        if existing is not None:
            return existing
        incident = await ctx.incidents.get(store, incident_id)
        if incident is None:
            raise not_found("incident")
        if incident.open or incident.ended_at is None:
            raise StatusRefusal(
                "The incident is not closed: its interval is not known yet.",
                code="incident-open",
                status=409,
            )
        now = ctx.base.clock.now()
        events = [e for e in (incident.opened_event_id, incident.closed_event_id) if e]
        receipts = await receipt_set(ctx.base.receipts, events)
        document = attestation_document(
            attestation_id=new_id(now), issued_at=now, incident=incident, receipts=receipts
        )
        issued = await sign_attestation(document, ctx.base.signer)
        attestation = Attestation(
            id=incident.id,
            attestation_id=document["attestation_id"],
            signed_json=issued.signed_json.decode("utf-8"),
            pdf_base64=base64.b64encode(issued.pdf).decode("ascii"),
            fingerprint=issued.fingerprint,
            pdf_sha256=issued.pdf_sha256,
            key_id=issued.key_id,
            issued_at=now,
        )
        try:
            async with ctx.base.outbox.transaction() as tx:
                added = await ctx.attestations.add(tx, attestation)
                await ctx.base.events.emit(
                    tx,
                    OutageAttestedV1(
                        incident_id=incident.id,
                        attestation_id=attestation.attestation_id,
                        fingerprint=issued.fingerprint,
                        pdf_sha256=issued.pdf_sha256,
                        key_id=issued.key_id,
                        issued_at=now,
                    ),
                    subject=f"incident:{incident.id}",
                )
        except DuplicateKeyError:
            # Issued at the same time by another request or replica: theirs is the one.
            stored = await ctx.attestations.get(store, incident_id)
            assert stored is not None
            return stored
        log.info("outage attestation %s issued (%s)", added.attestation_id, added.fingerprint)
        return added
