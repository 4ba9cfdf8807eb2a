"""The sweep (`retention.sweep`) of a test platform: every SQLite store under its directory,
every bucket of its S3 server, and audit's readable payloads (opened with audit's own keys, as
an operator's sweep does), for the person the consent fixtures declare."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from minio import Minio

from audit.service import JOURNAL
from retention.sweep import Person, Sweep, sweep_person
from tests.fixtures.seaweed import S3Server
from tests.unit.consent.support import BIRTH, EMAIL, NOM, PRENOMS

MOBILE = "+33612345678"
POSTCODE = "25000"


def declared(account_id: str, declaration_id: str) -> Person:
    """The person `natural_declaration` registers, and their ids."""
    return Person(
        names=(NOM, *PRENOMS.split()),
        birth_dates=(BIRTH,),
        emails=(EMAIL,),
        mobiles=(MOBILE,),
        postcodes=(POSTCODE,),
        account_ids=(account_id,),
        declaration_ids=(declaration_id,),
    )


async def sweep_platform(
    data_dir: Path, audit: FastAPI, s3: S3Server, account_id: str, declaration_id: str
) -> Sweep:
    journal = audit.state.journal
    audit_store = audit.state.runtime.store

    async def readable() -> AsyncIterator[tuple[str, Any]]:
        for entry in await audit_store.find(JOURNAL, sort=[("_id", 1)]):
            opened = await journal.payload(entry)
            if opened.record is not None:
                yield f"audit:{entry['_id']} ({entry['subject']})", opened.record

    client = Minio(s3.endpoint, access_key=s3.access_key, secret_key=s3.secret_key, secure=False)
    return await sweep_person(
        declared(account_id, declaration_id), data_dirs=[data_dir], s3=client, readable=readable()
    )
