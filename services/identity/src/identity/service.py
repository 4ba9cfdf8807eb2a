"""Identity's use cases in one place: what the HTTP API, the portal pages, the consumers and the
CLI call. Each group lives in its own module; `Identity` wires them on one `Context`."""

from __future__ import annotations

import asyncio
import logging
import secrets
from pathlib import Path

from pydantic import BaseModel, ValidationError

from identity.accounts import Accounts
from identity.attempts import AttemptJournal
from identity.clients import Clients
from identity.contacts import Contacts
from identity.directives import Directives
from identity.domain import normalize_identifier
from identity.lapses import ActivationLapses
from identity.maintenance import Maintenance
from identity.passwords import Passwords
from identity.personal_data import PersonalData
from identity.records import ACCOUNTS, CLIENTS, Context
from identity.rectification import Rectifications
from identity.retention import RetentionRequests
from identity.sealed import SecretSealer
from identity.service_clients import ServiceClients
from identity.sessions import Sessions, StoreRevocations
from identity.settings import Settings
from identity.terms import Terms
from identity.tokens import TokenIssuer
from shared.clock import Clock
from shared.crypto import KeyRing
from shared.crypto.backends import kek_source
from shared.crypto.keyfile import create_private_json, read_private_json, replace_private_json
from shared.messaging.outbox import Outbox
from shared.store.port import DocumentStore

log = logging.getLogger(__name__)

DEMO_OFFICE_ID = "etude-demo-75001"
DEMO_BAILIFF = "Maître Camille Demo"
DEMO_SCOPES = ["acts:write", "registry:read", "registry:write"]
DEMO_OPERATOR = "operateur-demo"


class DevOfficeClient(BaseModel):
    client_id: str = ""
    client_secret: str = ""
    office_id: str = ""
    bailiff_name: str = ""
    scopes: list[str] = []


class DevOperator(BaseModel):
    account_id: str = ""
    identifier: str = ""
    password: str = ""


class DevCredentials(BaseModel):
    """The dev seed's file (0600): a demo office client and an operator, with credentials."""

    note: str = ""
    identity_url: str = ""
    token_endpoint: str = ""
    office_client: DevOfficeClient = DevOfficeClient()
    operator: DevOperator = DevOperator()


def passwords_from(settings: Settings) -> Passwords:
    return Passwords(
        time_cost=settings.argon2_time_cost,
        memory_cost_kib=settings.argon2_memory_cost_kib,
        parallelism=settings.argon2_parallelism,
        min_strength=settings.password_min_strength,
    )


class Identity:
    """Every use case of identity, sharing one store, outbox, clock and settings."""

    def __init__(
        self,
        store: DocumentStore,
        outbox: Outbox,
        clock: Clock,
        settings: Settings,
        issuer: TokenIssuer,
        passwords: Passwords | None = None,
        keyring: KeyRing | None = None,
    ) -> None:
        # The KEK ring seals TOTP secrets; by default the one the settings name.
        keyring = keyring or KeyRing(kek_source(settings, clock))
        self.ctx = Context(
            store,
            outbox,
            clock,
            settings,
            passwords or passwords_from(settings),
            issuer,
            SecretSealer(keyring),
        )
        self.accounts = Accounts(self.ctx)
        self.sessions = Sessions(self.ctx)
        self.terms = Terms(self.ctx)
        self.clients = Clients(self.ctx)
        self.service_clients = ServiceClients(self.ctx)
        self.revocations = StoreRevocations(self.ctx)
        self.maintenance = Maintenance(self.ctx)
        self.lapses = ActivationLapses(self.ctx)
        self.retention = RetentionRequests(self.ctx)
        self.personal_data = PersonalData(self.ctx)
        self.rectifications = Rectifications(self.ctx)
        self.directives = Directives(self.ctx)
        self.attempts = AttemptJournal(self.ctx)
        self.contacts = Contacts(self.ctx, self.accounts)

    async def start(self) -> None:
        """Start-up hook: the first CGU version (and the later shipped texts, published with
        their notice), the platform's service clients, and the dev seed when configured."""
        await self.terms.seed()
        settings = self.ctx.settings
        if settings.publish_shipped_terms:
            await self.terms.publish_shipped()
        await self.service_clients.ensure()
        if settings.is_dev and settings.seed_dev_credentials_file is not None:
            await self.seed_dev(settings.seed_dev_credentials_file)

    async def seed_dev(self, path: Path) -> DevCredentials:
        """Dev only: a demo office client and an operator, their credentials in a
        0600 JSON file. Idempotent: kept as long as both still exist in the store."""
        existing = await asyncio.to_thread(_read_if_present, path)
        if existing is not None:
            client_id = existing.office_client.client_id
            operator = existing.operator.identifier
            if (
                client_id
                and await self.ctx.store.get(CLIENTS, client_id) is not None
                and await self.ctx.store.find(
                    ACCOUNTS, {"identifier": normalize_identifier(operator)}, limit=1
                )
            ):
                return existing
        client = await self.clients.register(
            DEMO_OFFICE_ID, DEMO_BAILIFF, DEMO_SCOPES, operator="dev-seed"
        )
        operator_identifier = f"{DEMO_OPERATOR}-{secrets.token_hex(2)}"
        operator_password = secrets.token_urlsafe(18)
        account_id = await self.accounts.create_operator(operator_identifier, operator_password)
        document = DevCredentials(
            note="dev credentials seeded by identity at start (dev mode only)",
            identity_url=self.ctx.settings.issuer,
            token_endpoint=f"{self.ctx.settings.issuer}/oauth/token",
            office_client=DevOfficeClient(
                client_id=client.client_id,
                client_secret=client.client_secret,
                office_id=client.office_id,
                bailiff_name=client.bailiff_name,
                scopes=list(client.scopes),
            ),
            operator=DevOperator(
                account_id=account_id,
                identifier=operator_identifier,
                password=operator_password,
            ),
        )
        await asyncio.to_thread(_write_private, path, document)
        log.info("dev credentials seeded (client %s)", client.client_id)
        return document


def _read_if_present(path: Path) -> DevCredentials | None:
    if not path.exists():
        return None
    try:
        return DevCredentials.model_validate(read_private_json(path))
    except ValidationError:
        return None  # not a seed file this version wrote: seeded again


def _write_private(path: Path, credentials: DevCredentials) -> None:
    document = credentials.model_dump()
    if not create_private_json(path, document):
        replace_private_json(path, document)
