"""KEK rotation on a stack that holds acts, replies and proofs (real SQLite stores, SeaweedFS,
and the key file or a SoftHSM2 token): `rotate-kek` of delivery and consent rewraps every DEK,
`retire-kek 1` refuses while a DEK is still under version 1 and then retires it, and afterwards
every object still decrypts to the same bytes, its ciphertext untouched, while a wrap kept from
before the rotation opens nothing any more."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from consent.context import Config as ConsentConfig
from consent.declarations import Office
from consent.domain import DeclarationInput
from consent.proofs import PROOF_KEYS, ProofVault
from consent.proofs import object_key as proof_key
from consent.repository import INDEXES as CONSENT_INDEXES
from consent.service import wire as wire_consent
from delivery.consumers import parties_subscription
from delivery.erasure import ERASURE_INDEXES
from delivery.repository import INDEXES as DELIVERY_INDEXES
from delivery.service import Delivery
from delivery.service import wire as wire_delivery
from delivery.vault import ACT_KEYS, REPLY_KEYS
from delivery.vault import object_key as act_key
from shared.clock import ManualClock
from shared.contracts.consent import (
    ActNature,
    DeclarationActivatedV1,
    DeclarationRegisteredV1,
    PersonKind,
)
from shared.contracts.envelope import new_envelope
from shared.crypto import KekSource, KeyRing, LocalKeyFile, WrappedDek
from shared.crypto.errors import KeyNotFoundError
from shared.crypto.pkcs11_keys import Pkcs11KekSource
from shared.crypto.pkcs11_token import Pkcs11Config, token_session
from shared.ids import new_id
from shared.messaging.inbox import INBOX_INDEXES, Inbox
from shared.messaging.outbox import Outbox, OutboxRelay
from shared.objects import ObjectStore
from shared.store.sqlite import SqliteStore
from tests.unit.consent.support import NATURAL_FILES, natural_declaration, natural_person
from tests.unit.delivery.conftest import build_app
from tests.unit.delivery.conftest import build_delivery as build_delivery_on_files
from tests.unit.delivery.support import Tokens, metadata, multipart, pdf

# Tuesday 8 April 2031, 10:00 in Paris: the service window is open.
START = datetime(2031, 4, 8, 8, 0, tzinfo=UTC)
BIN = Path(sys.executable).parent
ACTS = 3


@dataclass
class Keys:
    """The two services' KEK sources as a process of each would open them, and the settings
    that point their commands at the same keys."""

    delivery: Callable[[], KekSource]
    consent: Callable[[], KekSource]
    environment: dict[str, str]
    shared_kek: bool


@pytest.fixture(params=["file", "pkcs11"])
def keys(request: pytest.FixtureRequest, tmp_path: Path) -> Keys:
    clock = ManualClock(START)
    if request.param == "file":
        # As in dev: one key file for every service.
        kek = tmp_path / "keys" / "kek.json"
        return Keys(
            lambda: LocalKeyFile(kek, clock),
            lambda: LocalKeyFile(kek, clock),
            {"SECURACT_KEK_FILE": str(kek)},
            shared_kek=True,
        )
    config: Pkcs11Config = request.getfixturevalue("softhsm")
    prefix: str = request.getfixturevalue("label_prefix")
    session = token_session(config)
    # As in production: each service's KEK under its own labels in the shared token.
    return Keys(
        lambda: Pkcs11KekSource(session, f"{prefix}/delivery"),
        lambda: Pkcs11KekSource(session, f"{prefix}/consent"),
        {
            "SECURACT_KEYS": "pkcs11",
            "SECURACT_PKCS11_MODULE": str(config.module),
            "SECURACT_PKCS11_TOKEN_LABEL": config.token_label,
            "SECURACT_PKCS11_PIN": config.pin.get_secret_value(),
            "SECURACT_DELIVERY_PKCS11_LABEL_PREFIX": f"{prefix}/delivery",
            "SECURACT_CONSENT_PKCS11_LABEL_PREFIX": f"{prefix}/consent",
            "SOFTHSM2_CONF": os.environ["SOFTHSM2_CONF"],
        },
        shared_kek=False,
    )


@pytest.fixture
async def stores(tmp_path: Path) -> AsyncIterator[tuple[SqliteStore, SqliteStore]]:
    delivery, consent = (SqliteStore(tmp_path / f"{name}.sqlite3") for name in ("d", "c"))
    await delivery.connect()
    await consent.connect()
    await delivery.ensure_indexes(
        [*DELIVERY_INDEXES, *ERASURE_INDEXES, *INBOX_INDEXES, *OutboxRelay.indexes()]
    )
    await consent.ensure_indexes([*CONSENT_INDEXES, *INBOX_INDEXES, *OutboxRelay.indexes()])
    try:
        yield delivery, consent
    finally:
        await delivery.close()
        await consent.close()


async def command(
    service: str, args: list[str], keys: Keys, tmp_path: Path
) -> tuple[int, str, str]:
    """The service's command in a process of its own, on the test's stores and keys."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SECURACT_")}
    env |= {
        "SECURACT_LOG_JSON": "false",
        "SECURACT_DELIVERY_STORE_URL": f"sqlite:///{tmp_path / 'd.sqlite3'}",
        "SECURACT_CONSENT_STORE_URL": f"sqlite:///{tmp_path / 'c.sqlite3'}",
        **keys.environment,
    }
    child = await asyncio.create_subprocess_exec(
        str(BIN / f"securact-{service}"),
        *args,
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(child.communicate(), timeout=120)
    assert child.returncode is not None
    return child.returncode, out.decode(), err.decode()


def delivery_on(
    store: SqliteStore, objects: ObjectStore, source: KekSource, tmp_path: Path
) -> Delivery:
    delivery = build_delivery_on_files(store, ManualClock(START), tmp_path, objects)
    # The same wiring, with this KEK source instead of the test's key file.
    keyring = KeyRing(source)
    ctx = delivery.ctx
    return wire_delivery(
        ctx.config,
        store=store,
        outbox=ctx.outbox,
        clock=ctx.clock,
        objects=objects,
        keys=keyring,
        signer=ctx.signer,
        scanner=ctx.scanner,
        consent=ctx.consent,
    )


async def read_all(chunks: AsyncIterator[bytes]) -> bytes:
    return b"".join([chunk async for chunk in chunks])


async def ciphertext(objects: ObjectStore, key: str) -> bytes:
    return await read_all(await objects.get(key))


async def test_rotate_then_retire_and_every_act_reply_and_proof_still_reads(
    keys: Keys,
    stores: tuple[SqliteStore, SqliteStore],
    object_store: ObjectStore,
    tmp_path: Path,
) -> None:
    delivery_store, consent_store = stores
    clock = ManualClock(START)
    tokens = Tokens(clock)

    # -- a stack holding acts, replies and proofs ----------------------------------------------
    delivery = delivery_on(delivery_store, object_store, keys.delivery(), tmp_path)
    parties = parties_subscription(
        Inbox(delivery_store, "delivery.parties", clock), delivery.reconciliation
    )
    for payload in (
        DeclarationRegisteredV1(
            declaration_id="decl-1", person_kind=PersonKind.NATURAL, email="a@example.org"
        ),
        DeclarationActivatedV1(
            declaration_id="decl-1",
            account_id="acc-1",
            activated_at=clock.now(),
            terms_version=1,
            scope=list(ActNature),
            valid_until=None,
            territory="metropole",
        ),
    ):
        await parties.handler(
            new_envelope(payload, subject="declaration:decl-1", actor="service:x", clock=clock)
        )
    plaintexts: dict[str, bytes] = {}  # object key -> plaintext
    act_ids, reply_ids = [], []
    app = build_app(delivery, delivery_store, tokens)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://delivery"
    ) as client:
        for n in range(ACTS):
            act = pdf(30_000 + n * 70_000, seed=f"act-{n}".encode())
            body, content_type = multipart(metadata(), act)
            deposited = await client.post(
                "/v1/acts",
                content=body,
                headers={
                    "Content-Type": content_type,
                    "Idempotency-Key": f"k-{n}",
                    **tokens.office(),
                },
            )
            assert deposited.status_code == 201, deposited.text
            act_id = str(deposited.json()["id"])
            reply = pdf(2000 + n, seed=f"reply-{n}".encode())
            answered = await client.post(
                f"/v1/inbox/{act_id}/replies",
                content=reply,
                headers={"Content-Type": "application/pdf", **tokens.recipient("acc-1")},
            )
            assert answered.status_code == 201, answered.text
            act_ids.append(act_id)
            reply_ids.append(str(answered.json()["id"]))
            plaintexts[act_key(act_id)] = act
            plaintexts[f"replies/{reply_ids[-1]}"] = reply

    consent = wire_consent(
        ConsentConfig(pepper=b"rotation-test-pepper"),
        store=consent_store,
        outbox=Outbox(consent_store, clock),
        clock=clock,
        objects=object_store,
        keys=KeyRing(keys.consent()),
    )
    proof_ids = []
    for office, person in (("etude-1", "Camille"), ("etude-2", "Dominique")):
        uploads = {}
        for part, (_name, content) in NATURAL_FILES.items():

            async def chunks(data: bytes = content) -> AsyncIterator[bytes]:
                yield data

            proof_id = new_id(clock.now())
            uploads[part] = await consent.ctx.vault.upload(
                proof_id, part, chunks(), limit=1024 * 1024
            )
            proof_ids.append(proof_id)
            plaintexts[proof_key(proof_id)] = content
        declaration = DeclarationInput.model_validate(
            natural_declaration(
                START.date(),
                person=natural_person(prenoms=person, email=f"{person.lower()}@example.org"),
            )
        )
        await consent.registration.register(
            Office(office, f"client-{office}"), declaration, uploads
        )

    stored_ciphertexts = {key: await ciphertext(object_store, key) for key in plaintexts}
    old_act_key = await delivery_store.get(ACT_KEYS, act_ids[0])
    assert old_act_key is not None
    before = WrappedDek.model_validate(old_act_key["wrapped"])
    assert before.kek_version == 1
    assert await consent_store.count(PROOF_KEYS) == 4
    assert await delivery_store.count(REPLY_KEYS) == ACTS

    # -- rotate delivery's KEK, then retire version 1 -----------------------------------------
    status, out, err = await command("delivery", ["rotate-kek"], keys, tmp_path)
    assert status == 0, out + err
    assert f"{2 * ACTS} DEK(s) rewrapped to" in out
    assert "version 2" in out
    assert "act keys: " in err  # progress
    if keys.shared_kek:
        # The same key file is consent's: its proofs are still under version 1.
        status, out, err = await command("consent", ["retire-kek", "1"], keys, tmp_path)
        assert status == 1
        assert "refused: 4 DEK(s) still wrapped under version 1 (proof keys: 4)" in out
        status, out, err = await command("consent", ["rotate-kek", "--rewrap-only"], keys, tmp_path)
    else:
        # Consent's own KEK in the token: version 1 is still its current one.
        status, out, err = await command("consent", ["retire-kek", "1"], keys, tmp_path)
        assert status == 1
        assert "refused: version 1 is the current one" in out
        status, out, err = await command("consent", ["rotate-kek"], keys, tmp_path)
    assert status == 0, out + err
    assert "4 DEK(s) rewrapped to" in out

    # Run again: nothing is left to move (and no further version is made by --rewrap-only).
    status, out, err = await command("delivery", ["rotate-kek", "--rewrap-only"], keys, tmp_path)
    assert status == 0, out + err
    assert f"0 DEK(s) rewrapped to {before.kek_id} version 2, {2 * ACTS} already" in out

    for service in ("delivery", "consent"):
        status, out, err = await command(service, ["retire-kek", "1"], keys, tmp_path)
        assert status == 0, out + err
        assert "version 1 retired" in out or "already retired" in out

    # -- every object still decrypts, byte-identical; version 1 opens nothing ---------------
    fresh_delivery = keys.delivery()
    fresh_consent = keys.consent()
    assert await fresh_delivery.versions() == {1: True, 2: False}
    assert await fresh_consent.versions() == {1: True, 2: False}
    for row in [*await delivery_store.find(ACT_KEYS), *await delivery_store.find(REPLY_KEYS)]:
        assert WrappedDek.model_validate(row["wrapped"]).kek_version == 2
    for row in await consent_store.find(PROOF_KEYS):
        assert WrappedDek.model_validate(row["wrapped"]).kek_version == 2

    reader = delivery_on(delivery_store, object_store, fresh_delivery, tmp_path)
    served = build_app(reader, delivery_store, tokens)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=served), base_url="http://delivery"
    ) as client:
        for act_id in act_ids:
            downloaded = await client.get(
                f"/v1/inbox/{act_id}/content", headers=tokens.recipient("acc-1")
            )
            assert downloaded.status_code == 200
            assert downloaded.content == plaintexts[act_key(act_id)]
    for reply_id in reply_ids:
        opened = await read_all(await reader.ctx.replies_vault.open(reply_id))
        assert opened == plaintexts[f"replies/{reply_id}"]
    proofs = ProofVault(object_store, KeyRing(fresh_consent), consent_store, clock)
    for proof_id in proof_ids:
        assert await read_all(await proofs.open(proof_id)) == plaintexts[proof_key(proof_id)]
    for key, stored in stored_ciphertexts.items():
        assert await ciphertext(object_store, key) == stored, key

    with pytest.raises(KeyNotFoundError):
        await KeyRing(fresh_delivery).unwrap(before, act_ids[0])
