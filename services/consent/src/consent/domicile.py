"""The person's contacts and domicile after registration.

A new domicile (a seat, for a legal person) comes with a proof of address, as at registration:
the upload streams through content sniffing and encryption into the vault (`consent.proofs`),
the rules are checked (a territory the platform serves, a proof of the right type less than
three months old), and the declaration, the proof's metadata and key, and
`consent.domicile-changed.v1` commit in one transaction. From that instant the registry answers
the new territory (`ConsentStatus`, the lookup): acts deposited after the change are checked
against CPC 664 and 662-1 in its legal time; acts served before keep theirs.

Identity owns the notification e-mail and the mobile (it confirms a new address by a link):
its `email-changed` and `mobile-changed` events update the declaration here, so that the
offices reading it see the new contacts from then on. Every change is listed on the declaration
(`contact_changes`: what changed and when, never the values).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import Final

from pydantic import BaseModel, ConfigDict, ValidationError

from consent.context import Context
from consent.declarations import ContactChange, ContactKind, Declaration, Proof
from consent.domain import (
    FRESHNESS_MONTHS,
    LIVE,
    Address,
    DeclarationError,
    DocumentType,
    NaturalPerson,
    is_fresh,
)
from consent.intake import BodyTooLargeError, Limits, SubmissionError, check_length
from consent.lifecycle import Lifecycle
from consent.proofs import UploadedProof
from consent.refusals import (
    DeclarationRefused,
    UploadTooLarge,
    UploadUnavailable,
    no_declaration_linked,
    rule_broken,
)
from shared.contracts.consent import DeclarationStatus, DomicileChangedV1, PersonKind
from shared.contracts.envelope import Envelope
from shared.contracts.identity import EmailChangedV1, MobileChangedV1
from shared.documents import ContentError
from shared.ids import new_id
from shared.legal_calendar import (
    Territory,
    UnsupportedTerritoryError,
    legal_date,
    territory_for_postcode,
    validity_end,
)
from shared.messaging.consumer import PermanentFailure
from shared.multipart import MultipartError, MultipartReader, boundary_of
from shared.objects import ObjectStoreError
from shared.refusals import FieldError, Refusal
from shared.store.port import StoreUnavailableError, Transaction
from shared.vault import TooLargeError

log = logging.getLogger(__name__)

DOMICILE_PART: Final = "domicile"
PROOF_PART: Final = "proof"
PROOF_OF_ADDRESS: Final = {
    PersonKind.NATURAL: DocumentType.JUSTIFICATIF_DOMICILE,
    PersonKind.LEGAL: DocumentType.EXTRAIT_KBIS,
}
"""The proof a new address needs: a proof of domicile, or a Kbis extract naming the seat."""


class ProofOfAddress(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    type: DocumentType
    issued_on: date


class DomicileInput(BaseModel):
    """The JSON part `domicile` of `POST /v1/me/domicile`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    address: Address
    proof: ProofOfAddress


class NotChangeable(Refusal):
    """The declaration ended (or was purged): there is no consent left to change."""

    status = 409
    code = "declaration-not-changeable"
    title = "Not changeable"

    def __init__(self, status: DeclarationStatus) -> None:
        super().__init__(
            f"the declaration is {status.value}", extra={"declaration_status": status.value}
        )


def check_domicile(
    change: DomicileInput, kind: PersonKind, now: datetime, months: int = FRESHNESS_MONTHS
) -> Territory:
    """The territory of the new address, once the proof meets the registration's rules
    (type for the person's kind, not in the future, less than `months` old in the new
    territory's legal time)."""
    try:
        territory = territory_for_postcode(change.address.code_postal)
    except UnsupportedTerritoryError:
        raise DeclarationError(
            "address.code_postal", "outside the territories the platform serves"
        ) from None
    expected = PROOF_OF_ADDRESS[kind]
    if change.proof.type is not expected:
        raise DeclarationError("proof.type", f"a new address needs a {expected.value}")
    today = legal_date(now, territory)
    if change.proof.issued_on > today:
        raise DeclarationError("proof.issued_on", "the issue date is in the future")
    if not is_fresh(change.proof.issued_on, today, months):
        raise DeclarationError(
            "proof.issued_on", f"a {expected.value} must be less than {months} months old"
        )
    return territory


def moved(
    declaration: Declaration, address: Address, territory: Territory, proof_id: str, at: datetime
) -> tuple[Declaration, DomicileChangedV1]:
    """The declaration at its new address, governed by `territory` from `at` (its end, a
    last day in legal time, too), and the event that says so."""
    person = declaration.person
    assert person is not None
    assert declaration.account_id is not None
    field = "domicile" if isinstance(person, NaturalPerson) else "siege"
    until = declaration.valid_until
    changed = declaration.model_copy(
        update={
            "person": person.model_copy(update={field: address}),
            "territory": territory,
            "expires_at": validity_end(until, territory) if until else None,
            "proof_ids": (*declaration.proof_ids, proof_id),
            "contact_changes": (
                *declaration.contact_changes,
                ContactChange(
                    kind=ContactKind.DOMICILE, at=at, territory=territory, proof_id=proof_id
                ),
            ),
        }
    )
    return changed, DomicileChangedV1(
        declaration_id=declaration.id,
        account_id=declaration.account_id,
        territory=territory.value,
        previous_territory=declaration.territory.value,
        proof_id=proof_id,
        changed_at=at,
    )


def contact_noted(
    declaration: Declaration, kind: ContactKind, value: str | None, at: datetime
) -> Declaration | None:
    """The declaration with identity's new e-mail or mobile, or None when there is nothing to
    change (purged, or this very change already noted)."""
    person = declaration.person
    if person is None or any(c.kind is kind and c.at == at for c in declaration.contact_changes):
        return None
    return declaration.model_copy(
        update={
            "person": person.model_copy(update={kind.value: value}),
            "contact_changes": (*declaration.contact_changes, ContactChange(kind=kind, at=at)),
        }
    )


class Domicile:
    """The person's domicile change, over consent's context."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    async def submit(
        self,
        account_id: str,
        body: AsyncIterator[bytes],
        content_type: str | None,
        content_length: str | None,
        limits: Limits,
    ) -> Declaration:
        """Receive a `POST /v1/me/domicile` upload and record the change."""
        declaration = await self._ctx.declaration_of_account(account_id)
        self._changeable(declaration)
        try:
            change, uploaded = await self._receive(body, content_type, content_length, limits)
        except (BodyTooLargeError, TooLargeError) as error:
            raise UploadTooLarge(error.limit) from None
        except SubmissionError as error:
            raise DeclarationRefused(error.message, error.errors) from None
        except ObjectStoreError:
            raise UploadUnavailable("object store") from None
        try:
            return await self.change(account_id, change, uploaded)
        except BaseException:
            await self._ctx.vault.discard([uploaded.proof_id])
            raise

    def _changeable(self, declaration: Declaration) -> None:
        status = declaration.status_at(self._ctx.clock.now())
        if status not in LIVE or declaration.person is None:
            raise NotChangeable(status)

    async def change(
        self, account_id: str, change: DomicileInput, uploaded: UploadedProof
    ) -> Declaration:
        """Record the new domicile and its (stored, encrypted) proof with their event."""
        ctx = self._ctx
        now = ctx.clock.now()
        try:
            async with ctx.outbox.transaction() as tx:
                found = await ctx.declarations.find(
                    {"account_id": account_id}, sort=[("_id", -1)], limit=1, reader=tx
                )
                if not found:
                    raise no_declaration_linked()
                declaration = found[0]
                self._changeable(declaration)
                try:
                    territory = check_domicile(
                        change, declaration.person_kind, now, ctx.config.freshness_months
                    )
                except DeclarationError as error:
                    raise rule_broken(error.field, error.message) from None
                changed, event = moved(
                    declaration, change.address, territory, uploaded.proof_id, now
                )
                stored = await ctx.declarations.save(tx, changed, now)
                proof = Proof(
                    id=uploaded.proof_id,
                    declaration_id=declaration.id,
                    type=change.proof.type,
                    issued_on=change.proof.issued_on,
                    media_type=uploaded.media_type,
                    size=uploaded.size,
                    sha256=uploaded.sha256,
                    received_at=now,
                )
                await ctx.proofs.add(tx, proof, now)
                await ctx.vault.keep_key(tx, uploaded)
                await ctx.emit(tx, stored.subject, event, actor=f"recipient:{account_id}")
        except StoreUnavailableError:
            raise UploadUnavailable("database") from None
        log.info("declaration %s: domicile changed (%s)", declaration.id, territory.value)
        return stored

    async def _receive(
        self,
        body: AsyncIterator[bytes],
        content_type: str | None,
        content_length: str | None,
        limits: Limits,
    ) -> tuple[DomicileInput, UploadedProof]:
        """The JSON part and the one proof file, stored encrypted as it streams by."""
        check_length(content_length, limits)
        try:
            boundary = boundary_of(content_type)
        except MultipartError as error:
            raise SubmissionError(str(error)) from None
        reader = MultipartReader(_counted(body, limits.max_request_bytes), boundary)
        change: DomicileInput | None = None
        uploaded: UploadedProof | None = None
        try:
            while (part := await reader.next_part()) is not None:
                if part.filename is None and part.name == DOMICILE_PART and change is None:
                    raw = bytearray()
                    async for chunk in reader.chunks():
                        raw += chunk
                        if len(raw) > limits.max_json_bytes:
                            raise SubmissionError("the domicile part is too large")
                    change = _parse(bytes(raw))
                elif part.filename is not None and part.name == PROOF_PART and uploaded is None:
                    proof_id = new_id(self._ctx.clock.now())
                    try:
                        uploaded = await self._ctx.vault.upload(
                            proof_id, part.name, reader.chunks(), limit=limits.max_proof_bytes
                        )
                    except ContentError as error:
                        raise SubmissionError(
                            "the proof file is refused",
                            [{"loc": [PROOF_PART], "msg": str(error), "type": "file_content"}],
                        ) from None
                else:
                    raise SubmissionError(f"unexpected part {part.name!r}")
            if change is None:
                raise SubmissionError(f"the `{DOMICILE_PART}` JSON part is missing")
            if uploaded is None:
                raise SubmissionError(f"the `{PROOF_PART}` file part is missing")
        except MultipartError as error:
            await self._discard(uploaded)
            raise SubmissionError(str(error)) from None
        except BaseException:
            await self._discard(uploaded)
            raise
        return change, uploaded

    async def _discard(self, uploaded: UploadedProof | None) -> None:
        if uploaded is not None:
            await self._ctx.vault.discard([uploaded.proof_id])


async def _counted(body: AsyncIterator[bytes], limit: int) -> AsyncIterator[bytes]:
    total = 0
    async for chunk in body:
        total += len(chunk)
        if total > limit:
            raise BodyTooLargeError(limit)
        yield chunk


def _parse(raw: bytes) -> DomicileInput:
    try:
        return DomicileInput.model_validate_json(raw)
    except ValidationError as error:
        # Where and why only: an address is personal data and is not echoed back.
        errors: list[FieldError] = [
            {"loc": [DOMICILE_PART, *e["loc"]], "msg": e["msg"], "type": e["type"]}
            for e in error.errors(include_input=False, include_url=False)
        ]
        raise SubmissionError("the domicile part is invalid", errors) from None


# -- identity's contact events --------------------------------------------------------------


async def _noted(
    lifecycle: Lifecycle,
    tx: Transaction,
    declaration_id: str | None,
    account_id: str,
    kind: ContactKind,
    value: str | None,
    at: datetime,
) -> None:
    if declaration_id is None:
        return  # an operator's account: no declaration
    declaration = await lifecycle.declaration_for(tx, declaration_id)
    if declaration.account_id not in (None, account_id):
        raise PermanentFailure(f"declaration {declaration.id} is linked to another account")
    changed = contact_noted(declaration, kind, value, at)
    if changed is not None:
        ctx = lifecycle.context
        await ctx.declarations.save(tx, changed, ctx.clock.now())


async def on_email_changed(
    lifecycle: Lifecycle, tx: Transaction, event: EmailChangedV1, _envelope: Envelope
) -> None:
    """Identity confirmed a new notification address: the declaration shows it."""
    await _noted(
        lifecycle,
        tx,
        event.declaration_id,
        event.account_id,
        ContactKind.EMAIL,
        str(event.email),
        event.changed_at,
    )


async def on_mobile_changed(
    lifecycle: Lifecycle, tx: Transaction, event: MobileChangedV1, _envelope: Envelope
) -> None:
    """The person changed (or removed) their mobile at identity: the declaration shows it."""
    await _noted(
        lifecycle,
        tx,
        event.declaration_id,
        event.account_id,
        ContactKind.MOBILE,
        event.mobile,
        event.changed_at,
    )
