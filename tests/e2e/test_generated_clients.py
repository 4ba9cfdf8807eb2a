"""An office's first calls through the Python clients generated from the published OpenAPI
(`clients/`, `make clients`): token at identity, declaration at consent, act and evidence at
delivery. The person's activation and CGU acceptance go through the portal API as usual.

Real RabbitMQ, SeaweedFS and dev mailbox; the services' apps in this process, each client's
httpx transport pointed at its app."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from securact_consent_client import AuthenticatedClient as ConsentClient
from securact_consent_client.api.consent import consent_register
from securact_consent_client.models import ConsentRegisterBody, Registered
from securact_consent_client.types import File as ConsentFile
from securact_delivery_client import AuthenticatedClient as DeliveryClient
from securact_delivery_client.api.delivery import (
    delivery_deposit,
    delivery_evidence_keys,
    delivery_office_evidence,
)
from securact_delivery_client.models import (
    DeliveryDepositBody,
    DepositView,
    EvidenceKeys,
    EvidenceSet,
)
from securact_delivery_client.types import File as DeliveryFile
from securact_identity_client import Client as IdentityClient
from securact_identity_client.api.tokens import tokens_token
from securact_identity_client.models import (
    TokensTokenBody,
    TokensTokenBodyGrantType,
    TokensTokenResponse200,
)

from delivery.evidence import verify_evidence_set
from identity.service import Identity
from shared.clock import SystemClock
from shared.crypto import VerifierKey
from tests.fixtures.seaweed import S3Server
from tests.integration.consent.support import ready_bucket
from tests.support.services import eventually, running
from tests.support.stack import Mailbox, activate_from_mailbox, mail_to, serving_stack
from tests.unit.consent.support import NATURAL_FILES, natural_declaration
from tests.unit.delivery.support import metadata, pdf

BASE = "http://service"


def _transport(app: FastAPI) -> dict[str, Any]:
    return {"transport": httpx.ASGITransport(app=app)}


@pytest.mark.slow
async def test_an_office_serves_and_proves_an_act_with_the_generated_clients(
    tmp_path: Path, bus_prefix: str, s3_server: S3Server
) -> None:
    box = Mailbox(tmp_path / "mailbox")
    box.start()
    try:
        stack = serving_stack(tmp_path, bus_prefix, s3_server, box, checkpoint_every=3600)
        async with (
            running(stack.identity) as identity_http,
            running(stack.consent),
            running(stack.notify),
            running(stack.audit),
            running(stack.delivery),
        ):
            await ready_bucket(stack.consent)
            await ready_bucket(stack.delivery)
            # The operator registers the office's client (`securact-operator` does it too).
            service: Identity = stack.identity.state.identity
            registered = await service.clients.register(
                "etude-e2e",  # in delivery's office directory (`serving_stack`)
                "Étude du client généré",
                ["registry:write", "registry:read", "acts:write", "acts:read"],
                operator="test",
            )

            # 1. Token: client credentials at identity.
            identity = IdentityClient(base_url=BASE, httpx_args=_transport(stack.identity))
            token = await tokens_token.asyncio(
                client=identity,
                body=TokensTokenBody(
                    grant_type=TokensTokenBodyGrantType.CLIENT_CREDENTIALS,
                    client_id=registered.client_id,
                    client_secret=registered.client_secret,
                ),
            )
            assert isinstance(token, TokensTokenResponse200), token
            access = token.access_token

            # 2. Declaration: the person's consent and its proofs, at consent.
            consent = ConsentClient(
                base_url=BASE, token=access, httpx_args=_transport(stack.consent)
            )
            declaration = ConsentRegisterBody(
                declaration=json.dumps(natural_declaration(SystemClock().now().date()))
            )
            for part, (filename, content) in NATURAL_FILES.items():
                declaration.additional_properties[part] = ConsentFile(
                    payload=content, file_name=filename, mime_type="application/octet-stream"
                )
            created = await consent_register.asyncio(client=consent, body=declaration)
            assert isinstance(created, Registered), created
            await activate_from_mailbox(identity_http, box)

            async def delivery_knows_consent() -> bool:
                row = await stack.delivery.state.runtime.store.get("declarations", created.id)
                return row is not None and row.get("status") == "active"

            await eventually(delivery_knows_consent, within=30)

            # 3. Act: served at delivery; the notice reaches the person.
            delivery = DeliveryClient(
                base_url=BASE, token=access, httpx_args=_transport(stack.delivery)
            )
            document = pdf(30_000, seed=b"generated-client")
            served = await delivery_deposit.asyncio(
                client=delivery,
                idempotency_key="client-1",
                body=DeliveryDepositBody(
                    metadata=json.dumps(metadata(created.id)),
                    document=DeliveryFile(
                        payload=document, file_name="acte.pdf", mime_type="application/pdf"
                    ),
                ),
            )
            assert isinstance(served, DepositView), served
            await mail_to(box, "Un acte vous a été signifié")

            # 4. Evidence: the signed records, verified offline with the published keys.
            evidence = await delivery_office_evidence.asyncio_detailed(served.id, client=delivery)
            assert isinstance(evidence.parsed, EvidenceSet), evidence.content
            assert evidence.parsed.act_id == served.id
            keys = await delivery_evidence_keys.asyncio(client=delivery)
            assert isinstance(keys, EvidenceKeys), keys
            verifiers = [VerifierKey.from_string(key) for key in keys.keys]
            types = verify_evidence_set(json.loads(evidence.content), verifiers)
            # Notify stamps its notice on the real clock, delivery on a manual one: as a set.
            assert {"SubmissionAcceptance", "ContentConsignment", "ConsignmentNotification"} <= set(
                types
            ), types
        await stack.audit_http.aclose()
    finally:
        box.stop()
