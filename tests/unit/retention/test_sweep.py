"""The sweep itself: seeded with a copy of the person left on purpose in each store (each
service's SQLite file, a bucket, audit's readable payloads), it finds each one, says where, and
is clean only when references alone are left. The S3 client is a stand-in listing names (the
sweep reads no content); the e2e flows run it against SeaweedFS."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from retention import cli
from retention.sweep import Category, Finding, Person, Sweep, sweep_person
from shared.store import open_store

PERSON = Person(
    names=("Durand", "Camille"),
    birth_dates=(date(1980, 2, 29),),
    emails=("camille.durand@example.org",),
    mobiles=("+33612345678",),
    postcodes=("75011",),
    account_ids=("acc-4f1c2a",),
    declaration_ids=("decl-77ab90",),
)
OTHER = {"name": "Martin", "email": "l.martin@example.org", "account_id": "acc-999999"}


@dataclass(frozen=True)
class Bucket:
    name: str


@dataclass(frozen=True)
class Listed:
    object_name: str


class Buckets:
    """Lists names only, as minio does; never a content."""

    def __init__(self, objects: dict[str, list[str]]) -> None:
        self.objects = objects

    def list_buckets(self) -> Iterable[Bucket]:
        return [Bucket(name) for name in self.objects]

    def list_objects(
        self, bucket_name: str, prefix: str | None = None, recursive: bool = False
    ) -> Iterator[Listed]:
        return iter(Listed(key) for key in self.objects[bucket_name])


async def seed(directory: Path, service: str, rows: dict[str, list[dict[str, Any]]]) -> None:
    store = open_store(f"sqlite:///{directory / f'{service}.sqlite3'}", service)
    await store.connect()
    try:
        for collection, documents in rows.items():
            for document in documents:
                await store.insert(collection, document)
    finally:
        await store.close()


WRAPPED = {"dek_id": "ab", "kek_id": "k1", "ciphertext": "c2VjcmV0"}


async def seeded(directory: Path) -> None:
    """One copy in each store, each of a different value, and what must not be flagged."""
    await seed(
        directory,
        "identity",
        {"accounts": [{"_id": "acc-4f1c2a", "email": "camille.durand@example.org"}]},
    )
    await seed(
        directory,
        "consent",
        {
            "declarations": [
                {
                    "_id": "decl-77ab90",
                    "person": {"last_name": "Durand", "birth_date": "1980-02-29"},
                    "proof_ids": ["proof-aaa111"],
                }
            ],
            # A proof's wrapped DEK, named by the proof's id only.
            "proof_keys": [{"_id": "proof-aaa111", "wrapped": WRAPPED}],
        },
    )
    await seed(
        directory,
        "delivery",
        {
            "declarations": [{"_id": "decl-77ab90", "mobile": "+33612345678"}],
            "acts": [{"_id": "act-123456", "recipient_account_id": "acc-4f1c2a"}],
            "replies": [{"_id": "reply-654321", "act_id": "act-123456"}],
            "reply_keys": [{"_id": "reply-654321", "wrapped": WRAPPED}],
            # Another person's act and key: nothing of this person.
            "act_keys": [{"_id": "act-other1", "wrapped": WRAPPED}],
        },
    )
    await seed(
        directory,
        "notify",
        {"contacts": [{"_id": "account:acc-4f1c2a", "postcode": "75011"}]},
    )
    await seed(
        directory,
        "audit",
        {
            # Non-personal journal leaf: a reference; a hash with the postcode's digits inside.
            "journal": [
                {"_id": "1", "subject": "account:acc-4f1c2a", "leaf": "ab75011cd"},
            ],
            "journal_subject_keys": [{"_id": "act:act-123456", "wrapped": WRAPPED}],
        },
    )
    await seed(
        directory,
        "retention",
        {
            "contacts": [{"_id": "declaration:decl-77ab90", "email": None, "other": OTHER}],
            "certificates": [
                {"_id": "cert-0001xx", "account_id": "acc-4f1c2a", "files": {"pdf": WRAPPED}}
            ],
        },
    )


BUCKETS = {
    "delivery": ["acts/act-123456", "acts/act-other1"],
    "consent": ["proofs/proof-aaa111"],
    "retention": ["certificates/cert-0001xx.pdf"],
}


async def readable() -> AsyncIterator[tuple[str, Any]]:
    yield "audit:7 (act:act-123456)", {"payload": {"recipient_email": "CAMILLE.DURAND@example.org"}}
    yield "audit:9 (erasure:e-1)", {"payload": {"erasure_id": "erasure|decl-77ab90"}}


def problems(sweep: Sweep) -> set[tuple[Category, str, str]]:
    return {(f.category, f.where, f.kind) for f in sweep.problems()}


async def test_the_sweep_finds_each_copy_left_on_purpose_and_says_where(tmp_path: Path) -> None:
    await seeded(tmp_path)
    sweep = await sweep_person(
        PERSON, data_dirs=[tmp_path], s3=Buckets(BUCKETS), readable=readable()
    )
    assert problems(sweep) == {
        (Category.PERSONAL, "identity.sqlite3#accounts/acc-4f1c2a", "email"),
        # The address carries the name: found as both.
        (Category.PERSONAL, "identity.sqlite3#accounts/acc-4f1c2a", "name"),
        (Category.PERSONAL, "consent.sqlite3#declarations/decl-77ab90", "name"),
        (Category.PERSONAL, "consent.sqlite3#declarations/decl-77ab90", "birth_date"),
        (Category.WRAPPED_KEY, "consent.sqlite3#proof_keys/proof-aaa111", "key"),
        (Category.PERSONAL, "delivery.sqlite3#declarations/decl-77ab90", "mobile"),
        (Category.WRAPPED_KEY, "delivery.sqlite3#reply_keys/reply-654321", "key"),
        (Category.PERSONAL, "notify.sqlite3#contacts/account:acc-4f1c2a", "postcode"),
        (Category.WRAPPED_KEY, "audit.sqlite3#journal_subject_keys/act:act-123456", "key"),
        (Category.OBJECT, "s3://delivery/acts/act-123456", "object"),
        (Category.OBJECT, "s3://consent/proofs/proof-aaa111", "object"),
        (Category.PERSONAL, "audit:7 (act:act-123456)", "email"),
        (Category.PERSONAL, "audit:7 (act:act-123456)", "name"),
    }
    assert not sweep.clean
    where = {f.where for f in sweep.findings}
    # Another person's key and object, a hash holding the postcode's digits: not found.
    assert "delivery.sqlite3#act_keys/act-other1" not in where
    assert "s3://delivery/acts/act-other1" not in where
    assert Finding(Category.REFERENCE, "audit.sqlite3#journal/1", ".subject", "account_id") in (
        sweep.findings
    )
    assert not any(
        f.where == "audit.sqlite3#journal/1" and f.kind == "postcode" for f in sweep.findings
    )
    # The certificate is kept for the person: a reference, not a finding.
    assert (Category.REFERENCE, "s3://retention/certificates/cert-0001xx.pdf") in {
        (f.category, f.where) for f in sweep.findings
    }
    # The report names where and which field, never the value.
    report = sweep.report()
    assert "camille" not in report.lower()
    assert "75011" not in report
    assert f"NOT clean: {len(sweep.problems())} finding(s)" in report


async def test_only_references_left_is_clean(tmp_path: Path) -> None:
    await seed(
        tmp_path,
        "consent",
        {"declarations": [{"_id": "decl-77ab90", "status": "revoked", "purged_at": "2031"}]},
    )
    sweep = await sweep_person(PERSON, data_dirs=[tmp_path], s3=Buckets({"b": []}))
    assert sweep.clean
    assert [f.category for f in sweep.findings] == [Category.REFERENCE]


async def test_a_published_event_in_an_outbox_is_transient_not_clean(tmp_path: Path) -> None:
    await seed(
        tmp_path,
        "identity",
        {
            "outbox": [
                {"_id": "ev-000001", "sent": True, "envelope": {"email": PERSON.emails[0]}},
                {"_id": "ev-000002", "sent": False, "envelope": {"email": PERSON.emails[0]}},
            ]
        },
    )
    sweep = await sweep_person(PERSON, data_dirs=[tmp_path])
    categories = {(f.where, f.category) for f in sweep.findings if f.kind == "email"}
    assert categories == {
        ("identity.sqlite3#outbox/ev-000001", Category.TRANSIENT),
        ("identity.sqlite3#outbox/ev-000002", Category.PERSONAL),
    }
    assert not sweep.clean
    assert not sweep.clean_but(frozenset({Category.TRANSIENT}))


def test_a_mobile_is_found_in_its_national_forms() -> None:
    sweep = Sweep(PERSON)
    assert sweep.match("x", {"a": "06 12 34 56 78"})
    assert sweep.match("y", {"b": "0612345678"})
    assert not sweep.match("z", {"c": "+33612345679"})


def test_the_operator_command_lists_findings_and_exits_1_until_clean(tmp_path: Path) -> None:
    asyncio.run(seeded(tmp_path))
    out = io.StringIO()
    argv = [
        "sweep",
        "--subject",
        "account:acc-4f1c2a",
        "--subject",
        "declaration:decl-77ab90",
        "--name",
        "Durand",
        "--email",
        "camille.durand@example.org",
        "--postcode",
        "75011",
        "--birth-date",
        "1980-02-29",
        "--data-dir",
        str(tmp_path),
    ]
    assert cli.main(argv, out=out) == 1
    text = out.getvalue()
    assert "identity.sqlite3#accounts/acc-4f1c2a" in text
    assert "notify.sqlite3#contacts/account:acc-4f1c2a" in text
    clean_dir = tmp_path / "clean"
    clean_dir.mkdir()
    out = io.StringIO()
    assert cli.main([*argv[:-1], str(clean_dir)], out=out) == 0
    assert "sweep clean" in out.getvalue()


def test_a_subject_that_names_no_person_is_refused() -> None:
    out = io.StringIO()
    assert cli.main(["sweep", "--subject", "act:x", "--data-dir", "/nonexistent"], out=out) == 1
    assert "account:<id> or declaration:<id>" in out.getvalue()


@pytest.mark.parametrize("value", ["1980-02-29", "29/02/1980"])
def test_a_birth_date_is_found_in_its_written_forms(value: str) -> None:
    assert Sweep(PERSON).match("x", {"born": value})
