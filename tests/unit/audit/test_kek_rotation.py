"""audit's `rotate-kek` finds the subjects' wrapped DEKs: after the rewrap and version 1's
retirement the whole journal verifies, every payload opening; a shredded subject has no key to
move."""

from __future__ import annotations

from pathlib import Path

from audit.service import JOURNAL
from audit.vault import PayloadVault
from audit.verify import verify_journal
from audit.wrapped_keys import WRAPPED_KEYS
from shared.crypto import KeyRing, LocalKeyFile
from shared.crypto.rewrap import Rewrapper, wrapped_under
from tests.unit.audit.conftest import ORIGIN, Audit, fill


async def test_subject_keys_move_and_every_payload_still_opens(
    audit: Audit, tmp_path: Path
) -> None:
    await fill(audit, 6)
    await audit.store.insert(
        "journal_subject_keys", {"_id": "act:shredded", "wrapped": None, "owners": []}
    )
    source = LocalKeyFile(tmp_path / "kek.json", audit.clock)
    assert await wrapped_under(audit.store, WRAPPED_KEYS, source.key_id, 1) == {"subject keys": 2}
    await source.rotate()

    report = await Rewrapper(audit.store, source, WRAPPED_KEYS, audit.clock).run()

    assert (report.rewrapped, report.failed) == (2, [])
    await source.retire(1)
    vault = PayloadVault(KeyRing(LocalKeyFile(tmp_path / "kek.json", audit.clock)), audit.clock)
    verified = await verify_journal(audit.store, audit.signer.published, origin=ORIGIN, vault=vault)
    assert verified.first() is None
    assert verified.payloads_checked == await audit.store.count(JOURNAL) == 6
