"""`securact-audit verify`: rebuild the tree from the stored entries and trust only signatures.

Tampering is done directly in the database (SQL on the SQLite file; the MongoDB driver on the
Mongo engine), below the store port, as an operator with database access would.
"""

from __future__ import annotations

import asyncio
import io
import json
import sqlite3
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from audit import cli
from audit.service import CHECKPOINTS, INDEXES, JOURNAL, entry_key
from audit.settings import Settings
from audit.vault import PAYLOADS, SUBJECT_KEYS, PayloadVault
from audit.verify import verify_journal
from shared.clock import ManualClock
from shared.crypto import (
    KeyRing,
    LocalKeyFile,
    SigningKey,
    SigningKeyRing,
    load_or_create_signing_ring,
)
from shared.store.port import DocumentStore
from shared.store.sqlite import SqliteStore
from tests.fixtures.stores import StoreFactory, mongodb_test_url
from tests.unit.audit.conftest import ORIGIN, START, Audit, build_audit, event, fill

Edit = Callable[[str, str, dict[str, Any] | None], Awaitable[None]]
"""(collection, _id, new document or None to delete) applied directly in the database."""


@pytest.fixture(params=["sqlite", pytest.param("mongodb", marks=pytest.mark.mongodb)])
def engine(request: pytest.FixtureRequest) -> tuple[str, StoreFactory]:
    kind = str(request.param)
    return kind, request.getfixturevalue(f"{'mongo' if kind == 'mongodb' else kind}_store_factory")


@pytest.fixture
async def journaled(
    engine: tuple[str, StoreFactory], clock: ManualClock, tmp_path: Path, signer: SigningKeyRing
) -> Audit:
    store = await engine[1]()
    await store.ensure_indexes(INDEXES)
    audit = build_audit(store, clock, tmp_path, signer)
    await fill(audit, 5)
    await audit.checkpoints.sign_if_grown()
    await fill(audit, 4, first_seq=6)
    await audit.checkpoints.sign_if_grown()
    await fill(audit, 3, first_seq=10)
    await audit.checkpoints.sign_if_grown()
    return audit


@pytest.fixture
def edit(engine: tuple[str, StoreFactory], journaled: Audit, tmp_path: Path) -> Edit:
    """Write straight into the database, below the store port."""
    if engine[0] == "sqlite":
        path = tmp_path / "store.sqlite3"

        async def edit_sqlite(
            collection: str, doc_id: str, document: dict[str, Any] | None
        ) -> None:
            with sqlite3.connect(path) as db:
                if document is None:
                    db.execute(f'DELETE FROM "{collection}" WHERE id = ?', (doc_id,))  # noqa: S608
                else:
                    db.execute(
                        f'UPDATE "{collection}" SET doc = ? WHERE id = ?',  # noqa: S608
                        (json.dumps(document), doc_id),
                    )

        return edit_sqlite
    from pymongo import AsyncMongoClient

    from shared.store.mongodb import MongoStore

    assert isinstance(journaled.store, MongoStore)
    name = journaled.store.database_name
    url = mongodb_test_url()
    assert url is not None
    assert name is not None

    async def edit_mongo(collection: str, doc_id: str, document: dict[str, Any] | None) -> None:
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(url)
        try:
            database = client.get_database(name)
            if document is None:
                await database[collection].delete_one({"_id": doc_id})
            else:
                await database[collection].replace_one({"_id": doc_id}, document)
        finally:
            await client.close()

    return edit_mongo


async def verify(audit: Audit) -> Any:
    return await verify_journal(audit.store, audit.signer.published, origin=ORIGIN, batch=4)


async def test_an_intact_journal_verifies(journaled: Audit) -> None:
    report = await verify(journaled)
    assert report.ok, report.findings
    assert (report.entries, report.checkpoints) == (12, 3)


async def test_an_empty_journal_verifies(
    sqlite_store: DocumentStore, signer: SigningKeyRing
) -> None:
    report = await verify_journal(sqlite_store, signer.published)
    assert report.ok
    assert report.entries == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("subject", "act:999"),
        ("producer_seq", 99),
        ("journaled_at", "2031-02-03T09:00:02.000001Z"),
        ("payload_commitment", "ab" * 32),
        ("type", "delivery.act-withdrawn.v1"),
    ],
)
async def test_an_entry_edited_in_the_database_fails_at_its_index(
    journaled: Audit, edit: Edit, field: str, value: Any
) -> None:
    document = await journaled.store.get(JOURNAL, entry_key(7))
    assert document is not None
    await edit(JOURNAL, entry_key(7), {**document, field: value})
    report = await verify(journaled)
    assert report.first_broken_index == 7


async def test_deleting_the_last_entries_is_caught_by_the_checkpoint(
    journaled: Audit, edit: Edit
) -> None:
    for index in (9, 10, 11):
        await edit(JOURNAL, entry_key(index), None)
    report = await verify(journaled)
    assert report.first_broken_index == 9
    assert any("checkpoint 12 signed but only 9 entries" in f.reason for f in report.findings)


async def test_a_deleted_middle_entry_fails_at_its_index(journaled: Audit, edit: Edit) -> None:
    await edit(JOURNAL, entry_key(3), None)
    assert (await verify(journaled)).first_broken_index == 3


async def test_a_forged_checkpoint_signature_is_reported(journaled: Audit, edit: Edit) -> None:
    document = await journaled.store.get(CHECKPOINTS, "000000000009")
    assert document is not None
    # The same checkpoint text, signed by a key that is not the log's.
    text = document["note"].split("\n\n")[0] + "\n"
    other = SigningKeyRing(SigningKey.generate(ORIGIN)).sign_note(text)
    await edit(CHECKPOINTS, "000000000009", {**document, "note": other})
    report = await verify(journaled)
    assert not report.ok
    assert any("signature" in f.reason for f in report.findings)


async def test_a_checkpoint_over_another_history_is_reported(journaled: Audit) -> None:
    # The log key signs a root that the entries do not rebuild to (a forked history).
    await journaled.store.insert(
        CHECKPOINTS,
        {
            "_id": "000000000011",
            "size": 11,
            "root": "00" * 32,
            "note": journaled.signer.sign_note(f"{ORIGIN}\n11\n{'A' * 43}=\n"),
            "signed_at": "2031-02-03T10:00:00.000000Z",
        },
    )
    report = await verify(journaled)
    assert not report.ok
    assert report.first_broken_index is not None
    assert report.first_broken_index <= 11


def fresh_vault(tmp_path: Path, clock: ManualClock) -> PayloadVault:
    # A vault of its own, as the CLI builds it: no unwrapped key cached by the writer.
    return PayloadVault(KeyRing(LocalKeyFile(tmp_path / "kek.json", clock)), clock)


async def test_payload_integrity_is_checked_and_each_failing_index_named(
    journaled: Audit, edit: Edit, tmp_path: Path, clock: ManualClock
) -> None:
    vault = fresh_vault(tmp_path, clock)
    intact = await verify_journal(
        journaled.store, journaled.signer.published, origin=ORIGIN, batch=4, vault=vault
    )
    assert intact.ok, intact.findings
    assert intact.payloads_checked == 12

    entries = {e["index"]: e for e in await journaled.journal.entries()}
    sealed = await journaled.store.get(PAYLOADS, entries[5]["event_id"])
    assert sealed is not None
    sealed.pop("_version")
    await edit(PAYLOADS, sealed["_id"], {**sealed, "ciphertext": _flipped(sealed["ciphertext"])})
    await edit(PAYLOADS, entries[10]["event_id"], None)
    # Act 1's wrapped key rewritten: every payload of the subject fails.
    key = await journaled.store.get(SUBJECT_KEYS, "act:1")
    assert key is not None
    key.pop("_version")
    wrapped = {**key["wrapped"], "ciphertext": _flipped(key["wrapped"]["ciphertext"])}
    await edit(SUBJECT_KEYS, "act:1", {**key, "wrapped": wrapped})

    report = await verify_journal(
        journaled.store,
        journaled.signer.published,
        origin=ORIGIN,
        batch=4,
        vault=fresh_vault(tmp_path, clock),
    )
    reasons = {f.index: f.reason for f in report.findings}
    of_act_1 = {i for i, e in entries.items() if e["subject"] == "act:1"}
    assert entries[5]["subject"] == "act:0"
    assert reasons.pop(10) == "payload missing"
    assert set(reasons) == (of_act_1 | {5}) - {10}
    assert all(reason.startswith("payload corrupt") for reason in reasons.values())
    assert report.first_broken_index == min(of_act_1)


async def test_shredded_payloads_are_not_reported(
    journaled: Audit, tmp_path: Path, clock: ManualClock
) -> None:
    await journaled.journal.shred_subject("act:0")
    report = await verify_journal(
        journaled.store,
        journaled.signer.published,
        origin=ORIGIN,
        vault=fresh_vault(tmp_path, clock),
    )
    assert report.ok, report.findings
    kept = [e for e in await journaled.journal.entries() if e["subject"] != "act:0"]
    assert report.payloads_checked == len(kept)


async def test_producer_sequence_gaps_and_reuse_are_reported(
    clock: ManualClock, sqlite_store: DocumentStore, tmp_path: Path, signer: SigningKeyRing
) -> None:
    await sqlite_store.ensure_indexes(INDEXES)
    audit = build_audit(sqlite_store, clock, tmp_path, signer)
    for seq in (1, 2, 4, 2):
        await audit.journal.append(event(clock, seq=seq))
        clock.advance(timedelta(seconds=1))
    report = await verify(audit)
    reasons = {f.index: f.reason for f in report.findings}
    assert "already used at index 1" in reasons[3]
    assert "producer_seq 3..3 missing" in reasons[2]


async def test_cli_verify_exits_non_zero_naming_the_first_broken_index(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SECURACT_AUDIT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SECURACT_AUDIT_SIGNING_KEY_FILE", str(tmp_path / "signing.json"))
    monkeypatch.setenv("SECURACT_AUDIT_KEK_FILE", str(tmp_path / "kek.json"))
    settings = Settings()
    manual = ManualClock(START)
    ring = load_or_create_signing_ring(
        settings.signing_key_file, settings.checkpoint_origin, manual
    )
    store = SqliteStore(tmp_path / "audit.sqlite3")
    await store.connect()
    await store.ensure_indexes(INDEXES)
    audit = build_audit(store, manual, tmp_path, ring)
    audit.checkpoints.origin = settings.checkpoint_origin
    await fill(audit, 6)
    await audit.checkpoints.sign_if_grown()
    await store.close()

    out = io.StringIO()
    assert await _run_cli(["verify"], out) == cli.EXIT_OK
    assert "journal intact: 6 entries, 1 checkpoints, 6 payloads checked" in out.getvalue()

    with sqlite3.connect(tmp_path / "audit.sqlite3") as db:
        row = db.execute('SELECT doc FROM "journal" WHERE id = ?', (entry_key(4),)).fetchone()
        document = json.loads(row[0]) | {"subject": "act:forged"}
        db.execute(
            'UPDATE "journal" SET doc = ? WHERE id = ?', (json.dumps(document), entry_key(4))
        )
    out = io.StringIO()
    assert await _run_cli(["verify"], out) == cli.EXIT_BROKEN
    assert out.getvalue().startswith("journal broken at index 4:")


async def test_cli_verify_names_every_entry_whose_payload_fails_its_integrity_check(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SECURACT_AUDIT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SECURACT_AUDIT_SIGNING_KEY_FILE", str(tmp_path / "signing.json"))
    monkeypatch.setenv("SECURACT_AUDIT_KEK_FILE", str(tmp_path / "kek.json"))
    settings = Settings()
    manual = ManualClock(START)
    ring = load_or_create_signing_ring(
        settings.signing_key_file, settings.checkpoint_origin, manual
    )
    store = SqliteStore(tmp_path / "audit.sqlite3")
    await store.connect()
    await store.ensure_indexes(INDEXES)
    audit = build_audit(store, manual, tmp_path, ring)
    audit.checkpoints.origin = settings.checkpoint_origin
    made = await fill(audit, 6)
    await audit.checkpoints.sign_if_grown()
    await store.close()

    with sqlite3.connect(tmp_path / "audit.sqlite3") as db:
        for index in (2, 4):
            row = db.execute(
                'SELECT doc FROM "journal_payloads" WHERE id = ?', (made[index].event_id,)
            ).fetchone()
            document = json.loads(row[0])
            document["ciphertext"] = _flipped(document["ciphertext"])
            db.execute(
                'UPDATE "journal_payloads" SET doc = ? WHERE id = ?',
                (json.dumps(document), made[index].event_id),
            )
    out = io.StringIO()
    assert await _run_cli(["verify"], out) == cli.EXIT_BROKEN
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("journal broken at index 2: payload corrupt")
    assert lines[1].startswith("  also at index 4: payload corrupt")
    assert len(lines) == 2
    # The tree alone still verifies: a third party without the KEK is not misled.
    out = io.StringIO()
    assert await _run_cli(["verify", "--no-payloads"], out) == cli.EXIT_OK
    assert "payloads not checked" in out.getvalue()


async def test_cli_verify_refuses_to_run_without_the_kek_rather_than_make_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SECURACT_AUDIT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SECURACT_AUDIT_SIGNING_KEY_FILE", str(tmp_path / "signing.json"))
    monkeypatch.setenv("SECURACT_AUDIT_KEK_FILE", str(tmp_path / "absent-kek.json"))
    load_or_create_signing_ring(
        tmp_path / "signing.json", Settings().checkpoint_origin, ManualClock(START)
    )
    store = SqliteStore(tmp_path / "audit.sqlite3")  # the store is there, the KEK is not
    await store.connect()
    await store.close()
    out = io.StringIO()
    assert await _run_cli(["verify"], out) == cli.EXIT_USAGE
    assert "--no-payloads" in out.getvalue()
    assert str(tmp_path / "absent-kek.json") in out.getvalue()
    assert not (tmp_path / "absent-kek.json").exists()


def _flipped(text: str) -> str:
    # Another first base64 character: the first byte changes, the length does not.
    return ("B" if text[0] == "A" else "A") + text[1:]


async def _run_cli(argv: list[str], out: io.StringIO) -> int:
    # cli.main runs its own event loop: keep it off the test's loop.
    return await asyncio.to_thread(cli.main, argv, out)
