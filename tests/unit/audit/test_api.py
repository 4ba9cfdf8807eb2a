"""Audit's HTTP API over a real journal, with tokens signed by a key set made here and served
to a real `TokenVerifier` through an in-process JWKS endpoint."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any, Final

import httpx
import pytest
from fastapi import FastAPI

from audit import journaling as journaling_module
from audit import merkle
from audit import vault as vault_module
from audit.api import journal_router
from audit.checkpoint import Checkpoint, verify_receipt
from audit.domain import EntryReaders, leaf_data, sealed_record
from audit.service import JOURNAL, entry_key
from audit.vault import PAYLOADS, SUBJECT_KEYS, Sealable
from shared.auth import install_token_verifier
from shared.canonical import canonical_json
from shared.contracts.envelope import Envelope
from shared.crypto import DataKey, VerifierKey
from shared.problems import PROBLEM_MEDIA_TYPE, install_problem_handlers
from shared.refusals import install_refusal_handlers
from tests.support.tokens import TokenSigner
from tests.unit.audit.conftest import ORIGIN, PERSON, Audit, event, fill

LEGACY_ABSENT: Final = frozenset({"readers", "owners_read"})


@pytest.fixture
def tokens(audit: Audit) -> TokenSigner:
    return TokenSigner(audit.clock, "audit")


def token(
    tokens: TokenSigner, role: str, subject: str = "u-1", office_id: str | None = None
) -> str:
    return tokens.token(sub=subject, role=role, office_id=office_id)


@pytest.fixture
async def client(audit: Audit, tokens: TokenSigner) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    install_problem_handlers(app)
    install_refusal_handlers(app)
    app.include_router(journal_router(audit.journal, audit.checkpoints))
    install_token_verifier(app, tokens.verifier())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://audit") as http:
        yield http


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


async def test_checkpoint_is_served_as_a_signed_note(
    audit: Audit, client: httpx.AsyncClient
) -> None:
    assert (await client.get("/v1/checkpoint")).status_code == 404
    await fill(audit, 3)
    await audit.checkpoints.sign_if_grown()
    answer = await client.get("/v1/checkpoint")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    assert answer.text.startswith(f"{ORIGIN}\n3\n")
    keys = (await client.get("/v1/verifier-keys")).text.split()
    assert [VerifierKey.from_string(k) for k in keys] == list(audit.signer.published)
    listed = (await client.get("/v1/checkpoints", params={"from_size": 1})).json()
    assert [c["size"] for c in listed["checkpoints"]] == [3]


async def test_payloads_only_for_the_operator_and_the_subjects_parties(
    audit: Audit, client: httpx.AsyncClient, tokens: TokenSigner
) -> None:
    await audit.journal.append(event(audit.clock, actor="office:7", seq=1))
    anonymous = (await client.get("/v1/entries/0")).json()
    assert anonymous["payload_state"] == "withheld"
    assert "payload" not in anonymous
    assert PERSON not in str(anonymous)
    assert anonymous["leaf_hash"] == merkle.leaf_hash(leaf_data(anonymous)).hex()

    for headers in (
        bearer(token(tokens, "operator")),
        bearer(token(tokens, "bailiff", office_id="7")),
    ):
        shown = (await client.get("/v1/entries/0", headers=headers)).json()
        assert shown["payload_state"] == "available"
        assert shown["payload"]["recipient"] == PERSON
        assert shown["actor"] == "office:7"
    other_office = (
        await client.get("/v1/entries/0", headers=bearer(token(tokens, "bailiff", office_id="8")))
    ).json()
    assert "payload" not in other_office
    stranger = (
        await client.get("/v1/entries/0", headers=bearer(token(tokens, "recipient")))
    ).json()
    assert "payload" not in stranger
    refused = await client.get("/v1/entries/0", headers=bearer("not-a-token"))
    assert refused.status_code == 401


async def test_a_recipient_reads_the_payloads_of_their_own_acts(
    audit: Audit, client: httpx.AsyncClient, tokens: TokenSigner
) -> None:
    # As delivery publishes them: the person by account id, in the payload or as the actor.
    await audit.journal.append(
        event(audit.clock, seq=1, payload={"recipient_account_id": "acc-1", "act_id": "1"})
    )
    await audit.journal.append(
        event(
            audit.clock,
            subject="act:2",
            seq=2,
            actor="account:acc-1",
            event_type="delivery.reply-received.v1",
        )
    )
    person = bearer(token(tokens, "recipient", subject="acc-1"))
    someone_else = bearer(token(tokens, "recipient", subject="acc-2"))
    for index in (0, 1):
        mine = (await client.get(f"/v1/entries/{index}", headers=person)).json()
        assert mine["payload_state"] == "available", index
        theirs = (await client.get(f"/v1/entries/{index}", headers=someone_else)).json()
        assert "payload" not in theirs


async def test_after_shredding_even_the_operator_gets_no_payload(
    audit: Audit, client: httpx.AsyncClient, tokens: TokenSigner
) -> None:
    await audit.journal.append(event(audit.clock, seq=1))
    await audit.journal.shred_subject("act:1")
    shown = (await client.get("/v1/entries/0", headers=bearer(token(tokens, "operator")))).json()
    assert shown["payload_state"] == "shredded"
    assert "payload" not in shown


async def test_entries_by_subject_keep_the_smoke_test_shape(
    audit: Audit, client: httpx.AsyncClient
) -> None:
    await audit.journal.append(
        event(audit.clock, subject="service:notify", event_type="notify.started.v1")
    )
    body = (await client.get("/v1/entries", params={"subject": "service:notify"})).json()
    assert [e["type"] for e in body["entries"]] == ["notify.started.v1"]


async def test_an_entry_is_found_by_its_event_id_with_its_index(
    audit: Audit, client: httpx.AsyncClient
) -> None:
    made = await fill(audit, 4)
    await audit.checkpoints.sign_if_grown()

    body = (await client.get("/v1/entries", params={"event_id": made[2].event_id})).json()

    (entry,) = body["entries"]
    assert entry["index"] == 2
    assert entry["event_id"] == made[2].event_id
    assert body["next_after"] is None
    # The index found is the one a receipt is asked for.
    receipt = await client.get(f"/v1/receipts/{entry['index']}")
    verified = verify_receipt(receipt.text, audit.signer.published, origin=ORIGIN)
    assert verified.index == 2
    assert verified.entry is not None
    assert verified.entry["event_id"] == made[2].event_id
    # Exact match only: a prefix or an unknown id finds nothing.
    for other in (made[2].event_id[:-1], "no-such-event"):
        missing = (await client.get("/v1/entries", params={"event_id": other})).json()
        assert missing["entries"] == []


async def test_proofs_and_receipts_up_to_the_signed_size(
    audit: Audit, client: httpx.AsyncClient
) -> None:
    await fill(audit, 7)
    signed = await audit.checkpoints.sign_if_grown()
    assert signed is not None
    await fill(audit, 2, first_seq=8)  # not yet checkpointed

    proof = (await client.get("/v1/proofs/inclusion", params={"index": 4})).json()
    assert proof["size"] == 7
    assert merkle.verify_inclusion(
        4,
        7,
        bytes.fromhex(proof["leaf_hash"]),
        [bytes.fromhex(p) for p in proof["audit_path"]],
        signed.checkpoint.root,
    )
    at_five = (await client.get("/v1/proofs/inclusion", params={"index": 4, "size": 5})).json()
    consistency = (
        await client.get("/v1/proofs/consistency", params={"first": 5, "second": 7})
    ).json()
    assert merkle.verify_consistency(
        5,
        7,
        bytes.fromhex(at_five["root"]),
        signed.checkpoint.root,
        [bytes.fromhex(p) for p in consistency["consistency_path"]],
    )

    beyond = await client.get("/v1/proofs/inclusion", params={"index": 1, "size": 8})
    assert beyond.status_code == 400
    assert beyond.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert (
        await client.get("/v1/proofs/consistency", params={"first": 2, "second": 9})
    ).status_code == 400
    assert (await client.get("/v1/proofs/inclusion", params={"index": 99})).status_code == 404
    assert (await client.get("/v1/proofs/inclusion", params={"index": 7})).status_code == 400

    receipt = await client.get("/v1/receipts/3")
    assert receipt.status_code == 200
    verified = verify_receipt(receipt.text, audit.signer.published, origin=ORIGIN)
    assert verified.checkpoint == Checkpoint(ORIGIN, 7, signed.checkpoint.root)
    assert verified.entry is not None
    assert verified.entry["index"] == 3
    assert (await client.get("/v1/receipts/8")).status_code == 409
    assert (await client.get("/v1/receipts/50")).status_code == 404


def consent_event(
    audit: Audit, event_type: str, actor: str, payload: dict[str, Any], seq: int
) -> Envelope:
    audit.clock.advance(timedelta(seconds=1))
    return event(
        audit.clock,
        subject="declaration:d-x",
        event_type=event_type,
        actor=actor,
        seq=seq,
        payload=payload,
    )


async def readable(client: httpx.AsyncClient, headers: dict[str, str], count: int) -> set[int]:
    shown = set()
    for index in range(count):
        body = (await client.get(f"/v1/entries/{index}", headers=headers)).json()
        if body["payload_state"] == "available":
            assert "payload" in body
            shown.add(index)
        else:
            assert body["payload_state"] == "withheld", body
            assert "payload" not in body
            assert "x@example.org" not in str(body)
    return shown


async def test_a_lookup_shows_the_consulting_office_its_own_lookup_only(
    audit: Audit, client: httpx.AsyncClient, tokens: TokenSigner
) -> None:
    # Office A registers X; office B looks X up once, on the declaration's subject as lookups
    # were journaled before they got a subject of their own: B must not read the rest.
    lookup = "consent.registry-consulted.v1"
    made = [
        consent_event(
            audit,
            "consent.declaration-registered.v1",
            "office:A",
            {"declaration_id": "d-x", "email": "x@example.org", "mobile": "+33612345678"},
            1,
        ),
        consent_event(
            audit,
            "consent.declaration-activated.v1",
            "service:consent",
            {"declaration_id": "d-x", "account_id": "acc-x"},
            2,
        ),
        consent_event(audit, lookup, "office:B", {"office_id": "B", "purpose": "B-1"}, 3),
        consent_event(
            audit,
            "consent.restriction-requested.v1",
            "recipient:acc-x",
            {"declaration_id": "d-x", "account_id": "acc-x", "kind": "objection"},
            4,
        ),
        consent_event(audit, lookup, "office:A", {"office_id": "A", "purpose": "A-1"}, 5),
        consent_event(
            audit,
            lookup,
            "judicial_authority:j-1",
            {"office_id": None, "consulter": "j-1", "purpose": "RG 24/1"},
            6,
        ),
        consent_event(audit, lookup, "office:B", {"office_id": "B", "purpose": "B-2"}, 7),
    ]
    for envelope in made:
        assert await audit.journal.append(envelope)
    count = len(made)
    office_a = bearer(token(tokens, "bailiff", office_id="A"))
    office_b = bearer(token(tokens, "bailiff", office_id="B"))
    person = bearer(token(tokens, "recipient", subject="acc-x"))
    operator = bearer(token(tokens, "operator"))

    assert await readable(client, office_b, count) == {2, 6}
    assert await readable(client, office_a, count) == {0, 1, 3, 4}
    assert await readable(client, person, count) == {0, 1, 3}
    assert await readable(client, operator, count) == set(range(count))
    # Only the founding office and the linked person own the subject.
    assert await audit.journal.owners("declaration:d-x") == {"office:A", "recipient:acc-x"}


async def test_an_act_entry_without_the_office_in_its_payload_is_read_by_the_acts_parties(
    audit: Audit, client: httpx.AsyncClient, tokens: TokenSigner
) -> None:
    await audit.journal.append(
        event(audit.clock, actor="office:7", payload={"recipient_account_id": "acc-1"})
    )
    # Notify's and retention's events on the act need not name the office or the person.
    await audit.journal.append(
        event(audit.clock, actor="service:notify", payload={"channel": "email"})
    )
    for headers in (
        bearer(token(tokens, "bailiff", office_id="7")),
        bearer(token(tokens, "recipient", subject="acc-1")),
    ):
        assert await readable(client, headers, 2) == {0, 1}
    assert await readable(client, bearer(token(tokens, "bailiff", office_id="8")), 2) == set()


async def test_entries_journaled_before_readers_were_kept_are_refused_to_offices(
    audit: Audit,
    client: httpx.AsyncClient,
    tokens: TokenSigner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def legacy_record(envelope: Envelope, salt: bytes, readers: EntryReaders) -> bytes:
        record = json.loads(sealed_record(envelope, salt, readers))
        return canonical_json({k: v for k, v in record.items() if k not in LEGACY_ABSENT})

    original = vault_module._sealed_document

    def legacy_document(key: DataKey, item: Sealable) -> dict[str, Any]:
        document = original(key, item)
        return {k: v for k, v in document.items() if k not in LEGACY_ABSENT}

    monkeypatch.setattr(journaling_module, "sealed_record", legacy_record)
    monkeypatch.setattr(vault_module, "_sealed_document", legacy_document)
    await audit.journal.append(event(audit.clock, actor="office:7"))
    monkeypatch.undo()
    # As earlier builds kept it: the parties gathered from every event, not owners.
    key = await audit.store.get(SUBJECT_KEYS, "act:1")
    assert key is not None
    version = int(key.pop("_version"))
    key.pop("owners")
    await audit.store.replace(
        SUBJECT_KEYS, {**key, "parties": ["office:7", "office:8"]}, expected_version=version
    )

    for role, office in (("bailiff", "7"), ("bailiff", "8")):
        assert await readable(client, bearer(token(tokens, role, office_id=office)), 1) == set()
    assert await readable(client, bearer(token(tokens, "operator")), 1) == {0}

    # The subject's next event naming a party founds it again; the old entry stays refused.
    await audit.journal.append(event(audit.clock, actor="office:7"))
    assert await audit.journal.owners("act:1") == {"office:7"}
    assert await readable(client, bearer(token(tokens, "bailiff", office_id="7")), 2) == {1}
    assert await readable(client, bearer(token(tokens, "bailiff", office_id="8")), 2) == set()


async def tamper(audit: Audit, collection: str, doc_id: str, **changes: Any) -> None:
    document = await audit.store.get(collection, doc_id)
    assert document is not None
    version = int(document.pop("_version"))
    await audit.store.replace(collection, {**document, **changes}, expected_version=version)


def flipped(text: str) -> str:
    raw = bytearray(base64.b64decode(text))
    raw[-1] ^= 0x01
    return base64.b64encode(bytes(raw)).decode("ascii")


@pytest.mark.parametrize("where", ["ciphertext", "commitment"])
async def test_a_corrupt_payload_is_served_as_corrupt_not_as_a_server_error(
    audit: Audit, client: httpx.AsyncClient, tokens: TokenSigner, where: str
) -> None:
    made = await fill(audit, 3)
    target = made[1]
    if where == "ciphertext":
        sealed = await audit.store.get(PAYLOADS, target.event_id)
        assert sealed is not None
        await tamper(audit, PAYLOADS, target.event_id, ciphertext=flipped(sealed["ciphertext"]))
    else:
        await tamper(audit, JOURNAL, entry_key(1), payload_commitment="ab" * 32)

    answer = await client.get("/v1/entries/1", headers=bearer(token(tokens, "operator")))

    assert answer.status_code == 200
    body = answer.json()
    assert body["payload_state"] == "corrupt"
    assert body["event_id"] == target.event_id
    assert "payload" not in body
    assert "payload_salt" not in body
    anonymous = (await client.get("/v1/entries/1")).json()
    assert anonymous["payload_state"] == "withheld"
    intact = (await client.get("/v1/entries/2", headers=bearer(token(tokens, "operator")))).json()
    assert intact["payload_state"] == "available"


async def test_readers_edited_beside_the_ciphertext_do_not_open_the_payload(
    audit: Audit, client: httpx.AsyncClient, tokens: TokenSigner
) -> None:
    made = await fill(audit, 1)
    await tamper(audit, PAYLOADS, made[0].event_id, readers=["office:7", "office:8"])
    intruder = bearer(token(tokens, "bailiff", office_id="8"))
    body = (await client.get("/v1/entries/0", headers=intruder)).json()
    assert body["payload_state"] == "corrupt"
    assert "payload" not in body
