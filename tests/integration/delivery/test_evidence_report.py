"""The sealed evidence report (`GET …/evidence.pdf`) on real components: RabbitMQ, SeaweedFS,
SQLite and a real RFC 3161 TSA (`openssl ts` on loopback). An act is served and read; its report
is sealed with the dev seal (a local test CA made at first start beside the dev keys) and
timestamped; `securact-delivery verify-evidence` accepts it and names what fails once any byte
is changed; with the TSA down or not configured, the report is refused (503), never unsealed."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from pyhanko.pdf_utils.reader import PdfFileReader

from delivery import cli
from shared.clock import SystemClock
from tests.fixtures.seaweed import S3Server
from tests.fixtures.tsa import LocalTsa
from tests.integration.delivery.test_delivery_service import (
    PARIS_TUESDAY_10H,
    give_consent,
    offset_to,
    post,
    ready,
    settings,
)
from tests.support.consent_registry import delivery_on_events
from tests.support.services import running
from tests.unit.delivery.support import Tokens, pdf


def attachment(report: bytes) -> dict[str, Any]:
    reader = PdfFileReader(io.BytesIO(report))
    names = reader.root["/Names"]["/EmbeddedFiles"]["/Names"]
    assert str(names[0]) == "preuves.json"
    loaded = json.loads(names[1].get_object()["/EF"]["/F"].get_object().data)
    assert isinstance(loaded, dict)
    return loaded


async def verify(report: Path, key: str, seal_roots: Path, tsa_chain: Path) -> tuple[int, str]:
    out = io.StringIO()
    argv = ["verify-evidence", str(report), "--public-key", key]
    argv += ["--seal-roots", str(seal_roots), "--tsa-chain", str(tsa_chain)]
    # The command runs its own event loop, as it does from a shell.
    code = await asyncio.to_thread(cli.main, argv, out)
    return code, out.getvalue()


@pytest.mark.slow
async def test_a_read_act_has_a_sealed_timestamped_report_whose_every_byte_is_checked(
    tmp_path: Path, bus_prefix: str, s3_server: S3Server, tsa: LocalTsa
) -> None:
    tokens = Tokens(SystemClock())
    app = delivery_on_events(
        settings(
            tmp_path,
            bus_prefix,
            s3_server,
            clock_offset_seconds=offset_to(PARIS_TUESDAY_10H),
            tsa_url=tsa.url,
            tsa_chain_file=tsa.chain_file,
        ),
        token_verifier=tokens.verifier(),
    )
    async with running(app) as client:
        await give_consent(bus_prefix, "decl-int", "acc-int")
        await ready(app, "decl-int")
        served = await post(client, tokens, "report", pdf(30_000))
        assert served.status_code == 201, served.text
        act_id = served.json()["id"]
        person = tokens.recipient("acc-int")
        assert (await client.get(f"/v1/inbox/{act_id}/content", headers=person)).status_code == 200

        response = await client.get(f"/v1/acts/{act_id}/evidence.pdf", headers=tokens.office())
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/pdf"
        report = response.content
        mine = await client.get(f"/v1/inbox/{act_id}/evidence.pdf", headers=person)
        assert mine.status_code == 200
        other = await client.get(
            f"/v1/inbox/{act_id}/evidence.pdf", headers=tokens.recipient("acc-other")
        )
        assert other.status_code == 404

        published = (await client.get("/v1/evidence/keys")).json()
        key = published["keys"][0]
        chain = [x509.load_pem_x509_certificate(c.encode()) for c in published["seal_chain"]]
        assert (tmp_path / "seal.json").stat().st_mode & 0o077 == 0
        seal_roots = tmp_path / "seal-roots.pem"
        seal_roots.write_text(published["seal_chain"][-1])
        assert chain[-1].subject == chain[-1].issuer

        # The attachment is the act's evidence set (as the JSON route gives it).
        evidence = await client.get(f"/v1/acts/{act_id}/evidence", headers=tokens.office())
        attached = attachment(report)
        assert attached["evidence"] == evidence.json()["evidence"]
        assert [r["type"] for r in attached["evidence"]][-1] == "ContentHandover"

        saved = tmp_path / "preuve.pdf"
        saved.write_bytes(report)
        code, said = await verify(saved, key, seal_roots, tsa.chain_file)
        assert code == 0, said
        assert said.startswith(f"OK: evidence report of act {act_id}")

        # Any changed byte is detected and named: in the sealed revision, in the seal's own
        # signature, in the timestamp's revision; and bytes added after it.
        seal_at = report.index(b"/Contents <") + 60  # inside the CMS, not its padding
        for position, stage in (
            (20, "seal"),
            (len(report) // 3, "seal"),
            (seal_at, "signatures"),
            (len(report) - 30, "format"),  # the last revision's xref offset
        ):
            tampered = bytearray(report)
            tampered[position] ^= 0x01
            saved.write_bytes(bytes(tampered))
            code, said = await verify(saved, key, seal_roots, tsa.chain_file)
            assert code == 1, (position, said)
            assert said.startswith(f"INVALID: {stage}"), (position, said)
        saved.write_bytes(report + b"\n% appended\n")
        code, said = await verify(saved, key, seal_roots, tsa.chain_file)
        assert (code, said.split(":")[:2]) == (1, ["INVALID", " document timestamp"]), said

        # Another root than the seal's, another TSA than the pinned one: refused, named.
        saved.write_bytes(report)
        code, said = await verify(saved, key, tsa.chain_file, tsa.chain_file)
        assert code == 1
        assert said.startswith("INVALID: seal: the certificate"), said
        code, said = await verify(saved, key, seal_roots, seal_roots)
        assert code == 1
        assert "timestamp" in said, said

        # The TSA down: no report rather than an untimestamped one.
        tsa.down = True
        down = await client.get(f"/v1/acts/{act_id}/evidence.pdf", headers=tokens.office())
        assert down.status_code == 503
        assert down.headers["content-type"] == "application/problem+json"
        assert down.json()["type"].endswith("evidence-report-unavailable")


async def test_without_a_tsa_the_report_is_unavailable(
    tmp_path: Path, bus_prefix: str, s3_server: S3Server
) -> None:
    tokens = Tokens(SystemClock())
    app = delivery_on_events(
        settings(
            tmp_path, bus_prefix, s3_server, clock_offset_seconds=offset_to(PARIS_TUESDAY_10H)
        ),
        token_verifier=tokens.verifier(),
    )
    async with running(app) as client:
        await give_consent(bus_prefix, "decl-int", "acc-int")
        await ready(app, "decl-int")
        served = await post(client, tokens, "no-tsa", pdf(10_000))
        act_id = served.json()["id"]
        refused = await client.get(f"/v1/acts/{act_id}/evidence.pdf", headers=tokens.office())
        assert refused.status_code == 503
        assert refused.json()["type"].endswith("evidence-report-unavailable")
        assert (await client.get("/v1/evidence/keys")).json()["seal_chain"] == []
