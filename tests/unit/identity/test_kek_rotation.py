"""identity's `rotate-kek` finds every wrapped DEK identity stores: confirmed and pending TOTP
secrets and link tokens not yet fetched all move to the new KEK version and still open once
version 1 is retired."""

from __future__ import annotations

from identity.domain import hash_secret
from identity.sealed import SecretSealer, link_object_id, totp_object_id
from identity.wrapped_keys import WRAPPED_KEYS
from shared.crypto import KeyRing, LocalKeyFile
from shared.crypto.rewrap import Rewrapper, wrapped_under
from tests.unit.identity.support import Rig
from tests.unit.identity.test_secrets_at_rest import enrolled


async def test_sealed_totp_secrets_and_link_tokens_move_to_the_new_version(rig: Rig) -> None:
    confirmed, _ = await rig.active_recipient("decl-1")
    secret, _ = await enrolled(rig, confirmed)
    pending, _ = await rig.active_recipient("decl-2")
    enrolment = await rig.identity.accounts.enrol_totp(pending)
    waiting = await rig.declare("decl-3", "c@example.org")
    [link] = await rig.store.find("links", {"account_id": waiting})
    assert link["sealed_token"] is not None
    source = LocalKeyFile(rig.settings.kek_file, rig.clock)
    assert await wrapped_under(rig.store, WRAPPED_KEYS, source.key_id, 1) == {
        "TOTP secrets": 2,
        "link tokens": 1,
    }
    await source.rotate()

    report = await Rewrapper(rig.store, source, WRAPPED_KEYS, rig.clock).run()

    assert (report.rewrapped, report.failed) == (3, [])
    assert await wrapped_under(rig.store, WRAPPED_KEYS, source.key_id, 1) == {
        "TOTP secrets": 0,
        "link tokens": 0,
    }
    await source.retire(1)
    sealer = SecretSealer(KeyRing(LocalKeyFile(rig.settings.kek_file, rig.clock)))
    first = await rig.store.get("accounts", confirmed)
    second = await rig.store.get("accounts", pending)
    [link] = await rig.store.find("links", {"account_id": waiting})
    assert first is not None
    assert second is not None
    assert await sealer.open(first["totp_secret"], totp_object_id(confirmed)) == secret
    opened = await sealer.open(second["totp_pending_secret"], totp_object_id(pending))
    assert opened == enrolment.secret
    token = await sealer.open(link["sealed_token"], link_object_id(link["link_id"]))
    assert token is not None
    assert hash_secret(token) == link["_id"]
