"""The consent use cases as consent's tests read them: each call returns what the store holds
(the stored document, `_version` included) or the answer's JSON, so the tests' assertions read
the state itself rather than the typed records."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from consent.declarations import Declaration, Office, Record
from consent.domain import DeclarationInput
from consent.lookup import Consulter, NaturalQuery, SirenQuery
from consent.proofs import UploadedProof
from consent.repository import DECLARATIONS, PROOFS
from consent.service import Consent
from consent.views import LookupHit
from shared.contracts.consent import RestrictionKind
from shared.contracts.envelope import Envelope
from shared.contracts.identity import AccountCreatedV1
from shared.store.port import Document, Transaction


def stored(record: Record) -> Document:
    return {**record.document(), "_version": record.version}


class Answer:
    """A registry lookup's hit, with the JSON the route answers (without `found`)."""

    def __init__(self, hit: LookupHit) -> None:
        self.hit = hit

    def __getattr__(self, name: str) -> Any:
        return getattr(self.hit, name)

    def to_json(self) -> dict[str, Any]:
        return hit_json(self.hit)


def hit_json(hit: LookupHit) -> dict[str, Any]:
    return hit.model_dump(mode="json", exclude={"found"})


class RegistryProbe:
    def __init__(self, consent: Consent) -> None:
        self.consent = consent
        self._store = consent.ctx.store

    async def register(
        self, office: Office, declaration: DeclarationInput, uploads: Mapping[str, UploadedProof]
    ) -> Document:
        return stored(await self.consent.registration.register(office, declaration, uploads))

    async def get(self, declaration_id: str) -> Document | None:
        return await self._store.get(DECLARATIONS, declaration_id)

    async def of_account(self, account_id: str) -> Document:
        return stored(await self.consent.registry.of_account(account_id))

    async def proofs_of(self, declaration_id: str) -> list[Document]:
        return await self._store.find(PROOFS, {"declaration_id": declaration_id}, sort=[("_id", 1)])

    async def search(
        self, consulter: Consulter, query: NaturalQuery | SirenQuery, purpose: str
    ) -> Answer | None:
        hit = await self.consent.registry.search(consulter, query, purpose)
        return None if hit is None else Answer(hit)

    async def revoke(self, account_id: str) -> Document:
        return stored(await self.consent.lifecycle.revoke(account_id))

    async def expire_due(self) -> int:
        return await self.consent.lifecycle.expire_due()

    async def _expire(self, tx: Transaction, document: Document) -> Document | None:
        expired = await self.consent.lifecycle.expire(tx, Declaration.model_validate(document))
        return None if expired is None else stored(expired)

    async def on_account_created(
        self, tx: Transaction, created: AccountCreatedV1, envelope: Envelope
    ) -> None:
        await self.consent.lifecycle.on_account_created(tx, created, envelope)

    async def request_restriction(
        self, account_id: str, kind: RestrictionKind, text: str
    ) -> Document:
        return stored(await self.consent.rights.request_restriction(account_id, kind, text))

    async def export(self, account_id: str, _proof_url: str) -> dict[str, Any]:
        return (await self.consent.rights.export(account_id)).model_dump(mode="json")

    async def purge(self, declaration_id: str) -> Document:
        return stored(await self.consent.purge.purge(declaration_id))

    async def open_proof(self, proof_id: str) -> AsyncIterator[bytes]:
        return await self.consent.ctx.vault.open(proof_id)
