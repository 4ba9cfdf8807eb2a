"""What every route of consent's API shares: who may call (`Annotated` dependencies) and the
bounded strings of the lookup. Refusals raised here or in the use cases are `Refusal`s, mapped
to problem+json once for the whole app (`shared.refusals.install_refusal_handlers`)."""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import Depends
from pydantic import StringConstraints

from consent.declarations import Office
from consent.lookup import Consulter
from consent.refusals import Forbidden
from shared.auth import Principal, current_principal, require_role, require_scopes
from shared.contracts.consent import ConsulterRole

OFFICE_ROLE: Final = "office"
RECIPIENT_ROLE: Final = "recipient"
OPERATOR_ROLE: Final = "operator"
JUDICIAL_ROLE: Final = "judicial_authority"
REGISTRY_READERS: Final = frozenset({OFFICE_ROLE, JUDICIAL_ROLE})

SERVICE_ROLE: Final = "service"
CONSENT_STATUS: Final = "consent:status"

# Module-level: FastAPI resolves the (postponed) annotations of routes in this module's globals.
_office_writer = require_scopes("registry:write")
_registry_reader = require_scopes("registry:read")
_operator = require_role(OPERATOR_ROLE)
_recipient_role = require_role(RECIPIENT_ROLE)
# Identity grants these once the current CGU are accepted; a terminated account keeps
# `acts:read` only (read-only, CGU §12), a session still facing the CGU has neither.
_reads = require_scopes("acts:read")
_writes = require_scopes("account:write")
# A session facing the CGU (first login): it answers the declaration, nothing else.
_answers = require_scopes("terms:accept")
_status_reader = require_scopes(CONSENT_STATUS)


async def _registering_office(principal: Annotated[Principal, Depends(_office_writer)]) -> Office:
    """An office client with `registry:write`: it registers declarations."""
    if principal.role != OFFICE_ROLE or not principal.office_id:
        raise Forbidden("only an office client registers declarations")
    return Office(principal.office_id, principal.subject)


async def _consulter(principal: Annotated[Principal, Depends(_registry_reader)]) -> Consulter:
    """A bailiff's office client or the judicial authority, with `registry:read`."""
    if principal.role not in REGISTRY_READERS:
        raise Forbidden("only bailiffs and the judicial authority read the registry")
    if principal.role == OFFICE_ROLE:
        if not principal.office_id:
            raise Forbidden("an office token must name its office")
        return Consulter(ConsulterRole.OFFICE, principal.subject, principal.office_id)
    return Consulter(ConsulterRole.JUDICIAL_AUTHORITY, principal.subject, None)


async def _declaration_reader(
    principal: Annotated[Principal, Depends(current_principal)],
) -> Principal:
    if principal.role not in {OFFICE_ROLE, RECIPIENT_ROLE, OPERATOR_ROLE}:
        raise Forbidden("your role does not read declarations")
    return principal


async def _recipient(
    principal: Annotated[Principal, Depends(_recipient_role)],
    _: Annotated[Principal, Depends(_reads)],
) -> Principal:
    """The person, past the CGU gate: reads their data and exercises their GDPR rights, even
    after termination."""
    return principal


async def _recipient_writer(
    principal: Annotated[Principal, Depends(_recipient_role)],
    _: Annotated[Principal, Depends(_writes)],
) -> Principal:
    """The person, past the CGU gate and not terminated: may change the declaration."""
    return principal


async def _answering_recipient(
    principal: Annotated[Principal, Depends(_recipient_role)],
    _: Annotated[Principal, Depends(_answers)],
) -> Principal:
    """The person at the CGU gate: reads the declaration's statement, validates or contests
    it."""
    return principal


async def _service(principal: Annotated[Principal, Depends(_status_reader)]) -> Principal:
    """One of the platform's service clients (identity's `service-delivery`), never a person
    or an office: the status route answers any declaration id."""
    if principal.role != SERVICE_ROLE:
        raise Forbidden("only the platform's services read a consent's status")
    return principal


AnsweringRecipient = Annotated[Principal, Depends(_answering_recipient)]
StatusReader = Annotated[Principal, Depends(_service)]
RegisteringOffice = Annotated[Office, Depends(_registering_office)]
RegistryConsulter = Annotated[Consulter, Depends(_consulter)]
DeclarationReader = Annotated[Principal, Depends(_declaration_reader)]
Recipient = Annotated[Principal, Depends(_recipient)]
RecipientWriter = Annotated[Principal, Depends(_recipient_writer)]
Operator = Annotated[Principal, Depends(_operator)]

Purpose = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
