"""`securact-retention sweep`: the operator's sweep for one person (`retention.sweep`).

    securact-retention sweep --subject account:<id> --subject declaration:<id> \
        --name Durand --name Camille --birth-date 1980-02-29 --email camille@example.org \
        --mobile +33612345678 --postcode 75011 [--data-dir DIR]... [--s3] \
        [--audit-store FILE --audit-kek FILE]

Reads every SQLite store under the data directories (retention's own by default), lists every
S3 bucket with retention's S3 settings (`--s3`), and opens audit's readable payloads with
audit's KEK when given (the audit package must be installed where it runs). Prints each finding
with where it is — the field's path, never its value — and exits 0 when clean, 1 otherwise.
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any, TextIO, cast

from minio import Minio

from retention.settings import Settings
from retention.sweep import Buckets, Person, sweep_person
from shared.clock import SystemClock
from shared.store import open_store


def add_parser(commands: Any) -> None:
    sweep = commands.add_parser(
        "sweep",
        help="search every store for one person's data; list what is left and where",
        description="Exit 0 when only references (ids in tombstones, hashes, journal leaves) "
        "are left, 1 otherwise.",
    )
    sweep.add_argument(
        "--subject",
        action="append",
        default=[],
        required=True,
        metavar="SUBJECT",
        help="account:<id> or declaration:<id> (repeatable)",
    )
    for name in ("name", "email", "mobile", "postcode", "value"):
        sweep.add_argument(f"--{name}", action="append", default=[], help="repeatable")
    sweep.add_argument(
        "--birth-date", action="append", default=[], type=date.fromisoformat, metavar="YYYY-MM-DD"
    )
    sweep.add_argument("--data-dir", action="append", default=[], type=Path, metavar="DIR")
    sweep.add_argument("--s3", action="store_true", help="list every bucket (no content read)")
    sweep.add_argument("--audit-store", type=Path, metavar="SQLITE")
    sweep.add_argument("--audit-kek", type=Path, metavar="KEK_FILE")


def person_of(options: argparse.Namespace) -> Person:
    subjects = [str(s) for s in options.subject]
    bad = [s for s in subjects if not s.startswith(("account:", "declaration:"))]
    if bad:
        raise ValueError(f"a subject is account:<id> or declaration:<id>, not {bad[0]!r}")
    return Person(
        names=tuple(options.name),
        birth_dates=tuple(options.birth_date),
        emails=tuple(options.email),
        mobiles=tuple(options.mobile),
        postcodes=tuple(options.postcode),
        account_ids=tuple(s.split(":", 1)[1] for s in subjects if s.startswith("account:")),
        declaration_ids=tuple(s.split(":", 1)[1] for s in subjects if s.startswith("declaration:")),
        others=tuple(options.value),
    )


async def audit_readable(store_file: Path, kek_file: Path) -> AsyncIterator[tuple[str, Any]]:
    """Audit's payloads that its keys still open (shredded subjects' do not)."""
    from audit.domain import JournalEntry
    from audit.service import JOURNAL
    from audit.vault import PayloadState, PayloadVault
    from shared.crypto import KeyRing, LocalKeyFile

    clock = SystemClock()
    vault = PayloadVault(KeyRing(LocalKeyFile(kek_file, clock)), clock)
    store = open_store(f"sqlite:///{store_file}", "audit")
    await store.connect()
    try:
        for entry in await store.find(JOURNAL, sort=[("_id", 1)]):
            opened = await vault.open(store, cast(JournalEntry, entry))
            if opened.state is PayloadState.AVAILABLE:
                where = f"audit:{entry['_id']} ({entry.get('subject')})"
                yield where, opened.record
    finally:
        await store.close()


async def run_sweep(options: argparse.Namespace, out: TextIO, s3: Buckets | None = None) -> int:
    person = person_of(options)
    dirs = list(options.data_dir) or [Settings().data_dir]
    if options.s3 and s3 is None:
        settings = Settings()
        s3 = Minio(
            settings.s3_endpoint,
            access_key=settings.s3_access_key.get_secret_value(),
            secret_key=settings.s3_secret_key.get_secret_value(),
            secure=settings.s3_secure,
            region=settings.s3_region,
        )
    readable = None
    if options.audit_store is not None and options.audit_kek is not None:
        readable = audit_readable(options.audit_store, options.audit_kek)
    sweep = await sweep_person(person, data_dirs=dirs, s3=s3, readable=readable)
    out.write(sweep.report() + "\n")
    return 0 if sweep.clean else 1
