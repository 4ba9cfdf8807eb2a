"""retention's `rotate-kek` finds every wrapped DEK of a certificate: both files and the sealed
download token move to the new KEK version, and once version 1 is retired the link is still
given and both files still download."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from retention.certificates import Certificates
from retention.download_links import DownloadLinks
from retention.wrapped_keys import WRAPPED_KEYS
from shared.crypto import KeyRing, LocalKeyFile
from shared.crypto.rewrap import Rewrapper, wrapped_under
from tests.unit.retention.conftest import Harness
from tests.unit.retention.test_download_links import certified


async def test_certificate_files_and_token_move_to_the_new_version(
    harness: Harness, tmp_path: Path
) -> None:
    certificate_id = await certified(harness)
    link = await DownloadLinks(harness.retention.ctx).link(certificate_id)
    token = link.url.rsplit("/", 1)[1].removesuffix(".pdf")
    files = {
        kind: await harness.retention.certificates.read(certificate_id, token, kind)
        for kind in ("pdf", "json")
    }
    source = LocalKeyFile(tmp_path / "kek.json", harness.clock)
    assert await wrapped_under(harness.store, WRAPPED_KEYS, source.key_id, 1) == {
        "certificate keys": 3
    }
    await source.rotate()

    report = await Rewrapper(harness.store, source, WRAPPED_KEYS, harness.clock).run()

    assert (report.rewrapped, report.failed) == (3, [])
    await source.retire(1)
    fresh = KeyRing(LocalKeyFile(tmp_path / "kek.json", harness.clock))
    ctx = dataclasses.replace(harness.retention.ctx, keys=fresh)
    assert (await DownloadLinks(ctx).link(certificate_id)).url == link.url
    for kind, content in files.items():
        assert await Certificates(ctx).read(certificate_id, token, kind) == content
