"""What only a token gives: keys that never leave it, retirement enforced by the token for every
replica, several processes on one token, and a session that survives being lost."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pkcs11 import Attribute, ObjectClass
from pkcs11 import exceptions as p11

from shared.crypto import KeyRing, WrappedDek
from shared.crypto.errors import ConfigurationError, IntegrityError, KeyNotFoundError
from shared.crypto.pkcs11_keys import Pkcs11KekSource, Pkcs11SigningKeys
from shared.crypto.pkcs11_token import Pkcs11Config, TokenSession, token_session

ROOT = Path(__file__).resolve().parents[3]


def objects(session: TokenSession, object_class: ObjectClass, prefix: str) -> list[object]:
    return session.call(lambda token: token.find(object_class, prefix))


async def test_kek_versions_are_sensitive_unextractable_token_keys(
    softhsm: Pkcs11Config, label_prefix: str
) -> None:
    session = token_session(softhsm)
    source = Pkcs11KekSource(session, label_prefix)
    assert await source.current_version() == 1
    assert await source.rotate() == 2

    def inspect(token: TokenSession) -> list[tuple[str, bool, bool, bool]]:
        found = []
        for key in token.find(ObjectClass.SECRET_KEY, f"{label_prefix}/kek/v"):
            with pytest.raises(p11.AttributeSensitive):
                key[Attribute.VALUE]
            found.append(
                (
                    key[Attribute.LABEL],
                    key[Attribute.TOKEN],
                    key[Attribute.SENSITIVE],
                    key[Attribute.EXTRACTABLE],
                )
            )
        return found

    found = sorted(session.call(inspect))
    assert [label for label, *_ in found] == [f"{label_prefix}/kek/v1", f"{label_prefix}/kek/v2"]
    for _, on_token, sensitive, extractable in found:
        assert on_token
        assert sensitive
        assert not extractable


async def test_the_signing_key_is_unextractable_and_its_signature_verifies_with_its_ec_point(
    softhsm: Pkcs11Config, label_prefix: str
) -> None:
    session = token_session(softhsm)
    ring = Pkcs11SigningKeys(session, label_prefix, "securact.test").ring()
    signature = ring.sign(b"served at 10:00")

    def inspect(token: TokenSession) -> bytes:
        (private,) = token.find(ObjectClass.PRIVATE_KEY, f"{label_prefix}/signing/v1")
        assert private[Attribute.SENSITIVE]
        assert not private[Attribute.EXTRACTABLE]
        with pytest.raises(p11.AttributeSensitive):
            private[Attribute.VALUE]
        (public,) = token.find(ObjectClass.PUBLIC_KEY, f"{label_prefix}/signing/v1")
        return bytes(public[Attribute.EC_POINT])

    point = session.call(inspect)
    assert point[:2] == b"\x04\x20"  # DER OCTET STRING of the 32-byte point
    Ed25519PublicKey.from_public_bytes(point[2:]).verify(signature.signature, b"served at 10:00")


async def test_retirement_by_one_replica_is_enforced_by_the_token_for_another(
    softhsm: Pkcs11Config, label_prefix: str
) -> None:
    session = token_session(softhsm)
    retiring, other = Pkcs11KekSource(session, label_prefix), Pkcs11KekSource(session, label_prefix)
    ring = KeyRing(other)
    _, old = await ring.new_data_key("act-1")  # `other` has v1 indexed as usable
    await retiring.rotate()
    await retiring.retire(1)
    with pytest.raises(KeyNotFoundError):
        await ring.unwrap(old, "act-1")


async def test_a_key_retired_by_another_process_is_refused_by_the_token(
    softhsm: Pkcs11Config, label_prefix: str
) -> None:
    session = token_session(softhsm)
    source = Pkcs11KekSource(session, label_prefix)
    ring = KeyRing(source)
    _, old = await ring.new_data_key("act-1")
    await ring.unwrap(old, "act-1")  # this process now holds the key object
    await source.rotate()

    def retire_elsewhere(token: TokenSession) -> None:
        # What another process's retire does: its own session clears CKA_DECRYPT.
        with token.session.token.open(rw=True) as other:
            key = other.get_key(ObjectClass.SECRET_KEY, label=f"{label_prefix}/kek/v1")
            key[Attribute.DECRYPT] = False

    await session.run(retire_elsewhere)
    with pytest.raises(KeyNotFoundError, match="retired"):
        await ring.unwrap(old, "act-1")


async def test_new_wraps_follow_a_rotation_by_another_replica_after_the_refresh_interval(
    softhsm: Pkcs11Config, label_prefix: str
) -> None:
    session = token_session(softhsm)
    rotating = Pkcs11KekSource(session, label_prefix)
    stale = Pkcs11KekSource(session, label_prefix, refresh_seconds=3600)
    fresh = Pkcs11KekSource(session, label_prefix, refresh_seconds=0)
    assert await stale.current_version() == await fresh.current_version() == 1
    await rotating.rotate()
    assert await stale.current_version() == 1  # until its next re-read or restart
    assert await fresh.current_version() == 2
    assert (await fresh.wrap(b"k" * 32, b"ad"))[0] == 2


async def test_replicas_that_both_created_version_1_agree_and_read_each_other(
    softhsm: Pkcs11Config, label_prefix: str
) -> None:
    # Two replicas started at once on an empty token: each created its own v1.
    session = token_session(softhsm)
    first, second = Pkcs11KekSource(session, label_prefix), Pkcs11KekSource(session, label_prefix)
    await session.run(lambda token: first._create(token, 1))
    _, from_first = await KeyRing(first).new_data_key("act-1")  # first knows only its own v1
    await session.run(lambda token: second._create(token, 1))
    await second.refresh()
    _, from_second = await KeyRing(second).new_data_key("act-2")
    assert from_first.kek_version == from_second.kek_version == 1
    await KeyRing(second).unwrap(from_first, "act-1")
    await KeyRing(first).unwrap(from_second, "act-2")
    # After a refresh both wrap under the same key (the smallest CKA_ID).
    await first.refresh()
    _, again = await KeyRing(first).new_data_key("act-3")
    _, again_second = await KeyRing(second).new_data_key("act-4")
    assert again.ciphertext[:16] == again_second.ciphertext[:16]


async def test_a_wrap_made_by_another_process_unwraps_here(
    softhsm: Pkcs11Config, label_prefix: str
) -> None:
    ring = KeyRing(Pkcs11KekSource(token_session(softhsm), label_prefix))
    key, mine = await ring.new_data_key("act-here")
    script = textwrap.dedent(
        f"""
        import asyncio, json, sys
        from pydantic import SecretStr
        from shared.crypto import KeyRing, WrappedDek
        from shared.crypto.pkcs11_keys import Pkcs11KekSource
        from shared.crypto.pkcs11_token import Pkcs11Config, token_session
        pin = SecretStr(sys.stdin.readline().strip())
        config = Pkcs11Config({str(softhsm.module)!r}, {softhsm.token_label!r}, pin)
        ring = KeyRing(Pkcs11KekSource(token_session(config), {label_prefix!r}))
        async def main():
            mine = WrappedDek.from_bytes(sys.stdin.readline().strip().encode())
            opened = await ring.unwrap(mine, "act-here")
            key, theirs = await ring.new_data_key("act-there")
            print(json.dumps({{"opened": opened.material.hex(), "key": key.material.hex(),
                              "wrapped": theirs.to_bytes().decode()}}))
        asyncio.run(main())
        """
    )
    stdin = softhsm.pin.get_secret_value() + "\n" + mine.to_bytes().decode() + "\n"
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        script,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        cwd=ROOT,
        env=os.environ.copy(),
    )
    out, _ = await asyncio.wait_for(child.communicate(stdin.encode()), timeout=60)
    assert child.returncode == 0
    answer = json.loads(out)
    assert answer["opened"] == key.material.hex()
    theirs = WrappedDek.from_bytes(answer["wrapped"].encode())
    assert (await ring.unwrap(theirs, "act-there")).material.hex() == answer["key"]


async def test_a_lost_session_is_reopened(softhsm: Pkcs11Config, label_prefix: str) -> None:
    session = token_session(softhsm)
    ring = KeyRing(Pkcs11KekSource(session, label_prefix))
    key, wrapped = await ring.new_data_key("act-1")
    # The HSM dropped the session (restart, failover): the handle is dead.
    session.call(lambda token: token.session.close())
    assert (await ring.unwrap(wrapped, "act-1")).material == key.material


def test_a_wrong_pin_is_refused_without_printing_it(softhsm: Pkcs11Config) -> None:
    # In a process of its own: login state is per process, and this one is logged in.
    script = textwrap.dedent(
        f"""
        import asyncio
        from pydantic import SecretStr
        from shared.crypto.pkcs11_keys import Pkcs11KekSource
        from shared.crypto.pkcs11_token import Pkcs11Config, token_session
        pin = SecretStr("wrong-pin-31337")
        config = Pkcs11Config({str(softhsm.module)!r}, {softhsm.token_label!r}, pin)
        source = Pkcs11KekSource(token_session(config), "securact/pin-test")
        print(repr(config), repr(source))
        asyncio.run(source.current_version())
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=os.environ.copy(),
        timeout=60,
    )
    assert done.returncode != 0
    assert "ConfigurationError: PKCS#11 login to token 'securact-tests' refused" in done.stderr
    assert "wrong-pin-31337" not in done.stdout + done.stderr


async def test_an_unknown_token_is_a_configuration_error(softhsm: Pkcs11Config) -> None:
    absent = Pkcs11Config(softhsm.module, "no-such-token", softhsm.pin)
    with pytest.raises(ConfigurationError, match="no-such-token"):
        await token_session(absent).run(lambda token: token.session)


async def test_a_retired_signing_key_is_no_longer_published_by_any_replica(
    softhsm: Pkcs11Config, label_prefix: str
) -> None:
    keys = Pkcs11SigningKeys(token_session(softhsm), label_prefix, "securact.test")
    old = keys.ring().sign(b"before")
    with pytest.raises(ValueError, match="active"):
        keys.retire(old.kid)
    keys.rotate()
    ring = keys.retire(old.kid)
    assert old.kid not in {k["kid"] for k in ring.jwks()["keys"]}
    replica = Pkcs11SigningKeys(token_session(softhsm), label_prefix, "securact.test").ring()
    assert [v.key_id for v in replica.published] == [ring.active.key_id]
    with pytest.raises(IntegrityError):
        replica.verify(b"before", old)
    with pytest.raises(KeyNotFoundError):
        keys.retire("00000000")
