"""The sweep: every copy of one person's data still somewhere, and where.

After an erasure the platform promises that nothing of the person is left readable but
tombstones, hashes and the journal's non-personal leaves (décret 2021-1625 art. 21; seed CGU
§11.1, §12). The sweep checks that promise from outside the services, decrypting nothing:

- every SQLite store (each service's file under the data directories) is read row by row, each
  document walked field by field, for any of the person's values (name, birth date, e-mail,
  mobile, postcode) and ids (account, declaration);
- the rows that name the person give more ids (their own, and the objects, proofs and replies
  they list): a row holding a **wrapped key** (`wrapped` not null) under one of these ids is a
  key still bound to the person (an act's DEK, a proof's, an audit subject's);
- every object of every S3 bucket whose key ends with one of these ids is an **object** still
  bound to the person (its content is not read);
- audit's **readable payloads** (the subjects whose keys are not shredded), when the caller can
  open them (`readable`), are walked like rows.

A finding is `personal` (a value of the person), `object`, `wrapped-key`, `transient` (a value in
an outbox row already published, which the relay deletes one day after sending), or `reference`
(an id in a tombstone, a schedule, a journal leaf: expected). The sweep is clean when it finds
references only: a transient row is a readable copy of the person's data as long as it exists,
so it is listed apart (it goes on its own, without an erasure) but never counts as clean; right
after an erasure the sweep is clean only once the relays have dropped the events they published
(`keep_sent_for` after sending). Erasure certificates (ids, fingerprints, dates) are kept for
the person on purpose: their rows and objects are references.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import AsyncIterable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any, Final, Protocol

KEPT_TABLES: Final = frozenset({"certificates"})
"""Retention's erasure certificates: ids, fingerprints and dates, kept for the person."""
KEPT_PREFIXES: Final = ("certificates/", "erasure:")
"""The certificates' objects, and audit's subject of each erasure (its payloads are ids and
digests, kept readable for good so a certificate's fingerprint can be found)."""
LINKED_FIELDS: Final = frozenset(
    {"object_id", "proof_ids", "reply_ids", "proof_id", "reply_id", "act_id"}
)
"""Fields of a row that names the person whose values are bound to the person too."""
MIN_ID: Final = 6  # shorter ids would match by chance


class Category(StrEnum):
    PERSONAL = "personal"
    OBJECT = "object"
    WRAPPED_KEY = "wrapped-key"
    REFERENCE = "reference"
    # A value in an event already published, that the outbox relay deletes `keep_sent_for`
    # (one day) after sending: listed, and clean only once that day is over.
    TRANSIENT = "transient"


ALLOWED: Final = frozenset({Category.REFERENCE})
OUTBOX_TABLE: Final = "outbox"


@dataclass(frozen=True)
class Finding:
    category: Category
    where: str
    path: str
    kind: str

    def render(self) -> str:
        return f"{self.category.value:11} {self.kind:14} {self.where} {self.path}"


@dataclass(frozen=True)
class Person:
    """The values the sweep looks for (any may be empty)."""

    names: tuple[str, ...] = ()
    birth_dates: tuple[date, ...] = ()
    emails: tuple[str, ...] = ()
    mobiles: tuple[str, ...] = ()
    postcodes: tuple[str, ...] = ()
    account_ids: tuple[str, ...] = ()
    declaration_ids: tuple[str, ...] = ()
    others: tuple[str, ...] = ()

    def needles(self) -> list[Needle]:
        found = [Needle(kind, value) for kind, values in self._personal() for value in values]
        found += [Needle("account_id", v, personal=False) for v in self.account_ids]
        found += [Needle("declaration_id", v, personal=False) for v in self.declaration_ids]
        return [n for n in found if n.value]

    def _personal(self) -> Iterator[tuple[str, Iterable[str]]]:
        yield "name", self.names
        yield "birth_date", (f for d in self.birth_dates for f in _date_forms(d))
        yield "email", self.emails
        yield "mobile", (f for m in self.mobiles for f in _mobile_forms(m))
        yield "postcode", self.postcodes
        yield "value", self.others

    @property
    def ids(self) -> set[str]:
        return {*self.account_ids, *self.declaration_ids}


def _date_forms(day: date) -> list[str]:
    return [day.isoformat(), day.strftime("%d/%m/%Y"), day.strftime("%d%m%Y")]


def _mobile_forms(mobile: str) -> list[str]:
    digits = re.sub(r"[^\d+]", "", mobile)
    forms = {mobile, digits}
    if digits.startswith("+33"):
        national = "0" + digits[3:]
        forms |= {national, " ".join(national[i : i + 2] for i in range(0, len(national), 2))}
    return sorted(forms)


@dataclass(frozen=True)
class Needle:
    kind: str
    value: str
    personal: bool = True

    @property
    def pattern(self) -> re.Pattern[str]:
        # Bounded by non-alphanumerics: a postcode inside a hash or an instant is no match.
        return re.compile(rf"(?<![0-9A-Za-z]){re.escape(self.value)}(?![0-9A-Za-z])", re.I)


def walk(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string in a JSON value (keys included), with its path."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield f"{path}.{key}", str(key)
            yield from walk(item, f"{path}.{key}")
    elif isinstance(value, list):
        for number, item in enumerate(value):
            yield from walk(item, f"{path}[{number}]")
    elif isinstance(value, str):
        yield path or ".", value
    elif value is not None and not isinstance(value, bool):
        yield path or ".", str(value)


def _has_wrapped(value: Any) -> bool:
    if isinstance(value, dict):
        return any(
            (key == "wrapped" and item is not None) or _has_wrapped(item)
            for key, item in value.items()
        )
    if isinstance(value, list):
        return any(_has_wrapped(item) for item in value)
    return False


def _linked(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in LINKED_FIELDS:
                yield from (str(v) for v in (item if isinstance(item, list) else [item]) if v)
            else:
                yield from _linked(item)
    elif isinstance(value, list):
        for item in value:
            yield from _linked(item)


def _sent(row: Row) -> bool:
    """An outbox row already published: the relay deletes it a day later."""
    return (
        row.table == OUTBOX_TABLE
        and isinstance(row.document, dict)
        and row.document.get("sent") is True
    )


def _bound(identifier: str, ids: set[str]) -> bool:
    """Whether a row id or an object key *is* one of `ids` (`act:<id>`, `acts/<id>.pdf`)."""
    tail = identifier.split(":", 1)[-1].rsplit("/", 1)[-1].split(".", 1)[0]
    return identifier in ids or tail in ids


@dataclass
class Row:
    where: str
    table: str
    row_id: str
    document: Any


@dataclass
class Sweep:
    """One sweep's state: the needles, the ids found bound to the person, the findings."""

    person: Person
    findings: list[Finding] = field(default_factory=list)
    bound: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.needles = self.person.needles()
        self.bound |= self.person.ids

    def clean_but(self, tolerated: frozenset[Category] = frozenset()) -> bool:
        return all(f.category in ALLOWED | tolerated for f in self.findings)

    @property
    def clean(self) -> bool:
        return self.clean_but()

    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.category not in ALLOWED]

    def match(
        self, where: str, document: Any, *, kept: bool = False, transient: bool = False
    ) -> bool:
        """Record each of the person's values in `document`; whether any matched."""
        matched = False
        for path, text in walk(document):
            for needle in self.needles:
                if needle.pattern.search(text):
                    category = Category.REFERENCE
                    if needle.personal and not kept:
                        category = Category.TRANSIENT if transient else Category.PERSONAL
                    self.findings.append(Finding(category, where, path, needle.kind))
                    matched = True
        return matched

    def names_bound(self, document: Any, ids: set[str]) -> bool:
        if not ids:
            return False
        pattern = re.compile("|".join(re.escape(i) for i in sorted(ids, key=len, reverse=True)))
        return any(pattern.search(text) for _path, text in walk(document))

    def rows(self, rows: Sequence[Row]) -> None:
        """Values first; then the ids the matching rows bind (two levels: a reply of an act
        of the account); then the wrapped keys still held under any bound id."""
        naming = [
            r
            for r in rows
            if self.match(r.where, r.document, kept=r.table in KEPT_TABLES, transient=_sent(r))
        ]
        for row in naming:
            self._bind(row)
        fresh = set(self.bound)
        for row in rows:
            if row not in naming and self.names_bound(row.document, fresh):
                self._bind(row)
        for row in rows:
            if row.table in KEPT_TABLES or row.row_id.startswith(KEPT_PREFIXES):
                continue
            if not _has_wrapped(row.document):
                continue
            if _bound(row.row_id, self.bound):
                self.findings.append(Finding(Category.WRAPPED_KEY, row.where, ".wrapped", "key"))

    def _bind(self, row: Row) -> None:
        candidates = {row.row_id, *_linked(row.document)}
        self.bound |= {c for c in candidates if len(c) >= MIN_ID}

    def objects(self, bucket: str, keys: Iterable[str]) -> None:
        for key in keys:
            if _bound(key, self.bound):
                kept = key.startswith(KEPT_PREFIXES)
                category = Category.REFERENCE if kept else Category.OBJECT
                self.findings.append(Finding(category, f"s3://{bucket}/{key}", "", "object"))

    def report(self) -> str:
        lines = [f.render() for f in sorted(self.findings, key=lambda f: (f.category, f.where))]
        verdict = "clean" if self.clean else f"NOT clean: {len(self.problems())} finding(s)"
        return "\n".join([*lines, f"sweep {verdict} ({len(self.findings)} finding(s) in all)"])


# -- the stores -----------------------------------------------------------------------------


def sqlite_files(directories: Iterable[Path]) -> list[Path]:
    found: set[Path] = set()
    for directory in directories:
        for pattern in ("*.sqlite3", "*.sqlite", "*.db"):
            found |= set(directory.rglob(pattern))
    return sorted(found)


def sqlite_rows(path: Path) -> list[Row]:
    """Every row of every table, read only (`doc` is JSON; other text columns as they are)."""
    rows: list[Row] = []
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        tables = [t for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            cursor = db.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - names from the file
            columns = [c[0] for c in cursor.description]
            for number, values in enumerate(cursor):
                record = dict(zip(columns, values, strict=True))
                document = _document(record)
                row_id = str(record.get("id", number))
                rows.append(Row(f"{path.name}#{table}/{row_id}", table, row_id, document))
    return rows


def _document(record: Mapping[str, object]) -> Any:
    text = record.get("doc")
    if isinstance(text, str):
        try:
            return json.loads(text)
        except ValueError:
            pass
    return {k: v.decode("latin-1") if isinstance(v, bytes) else v for k, v in record.items()}


class Buckets(Protocol):
    """What the sweep needs of an S3 client (minio's): names, never contents."""

    def list_buckets(self) -> Iterable[Any]: ...

    def list_objects(
        self, bucket_name: str, prefix: str | None = None, recursive: bool = False
    ) -> Iterable[Any]: ...


async def sweep_person(
    person: Person,
    *,
    data_dirs: Sequence[Path] = (),
    s3: Buckets | None = None,
    readable: AsyncIterable[tuple[str, Any]] | None = None,
) -> Sweep:
    """Sweep every store for `person`. `readable` yields audit's readable payloads (where,
    payload): the caller opens them, with audit's keys; the sweep itself decrypts nothing."""
    sweep = Sweep(person)
    rows = [row for path in sqlite_files(data_dirs) for row in sqlite_rows(path)]
    sweep.rows(rows)
    if readable is not None:
        async for where, payload in readable:
            sweep.match(where, payload)
    if s3 is not None:
        for bucket in s3.list_buckets():
            keys = [o.object_name for o in s3.list_objects(bucket.name, recursive=True)]
            sweep.objects(bucket.name, keys)
    return sweep
