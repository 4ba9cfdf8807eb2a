"""RFC 3161 tokens from a real TSA on loopback (openssl ts, see tests.fixtures.tsa), verified
against the pinned chain; every broken token names the check it fails."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from shared.timestamps import TimestampError, TsaTrust, fetch_timestamp, verify_timestamp
from tests.fixtures.tsa import LocalTsa, make_ca

NOTE = b"securact.test/audit\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n\xe2\x80\x94 sig\n"


async def _token(tsa: LocalTsa, message: bytes = NOTE) -> bytes:
    async with httpx.AsyncClient() as client:
        reply, _ = await fetch_timestamp(client, tsa.url, message, TsaTrust.from_pem(tsa.chain_pem))
    return reply


def _stage(reply: bytes, message: bytes, trust: TsaTrust) -> str:
    with pytest.raises(TimestampError) as failure:
        verify_timestamp(reply, message, trust)
    return failure.value.stage


async def test_a_token_from_the_tsa_verifies_against_the_pinned_chain(tsa: LocalTsa) -> None:
    reply = await _token(tsa)
    verified = verify_timestamp(reply, NOTE, TsaTrust.from_pem(tsa.chain_pem))
    assert abs(verified.time - datetime.now(UTC)) < timedelta(minutes=1)
    assert "SECURACT test TSA" in verified.tsa
    assert tsa.replies == 1


async def test_a_token_over_another_message_fails_on_the_imprint(tsa: LocalTsa) -> None:
    reply = await _token(tsa)
    assert _stage(reply, NOTE + b"x", TsaTrust.from_pem(tsa.chain_pem)) == "imprint"


async def test_a_token_from_a_tsa_outside_the_pinned_chain_fails_on_the_chain(
    tsa: LocalTsa,
) -> None:
    reply = await _token(tsa)
    _, other_root = make_ca("SECURACT test TSA root")  # same name, other key
    assert _stage(reply, NOTE, TsaTrust.from_pem(other_root.public_bytes(Encoding.PEM))) == "chain"


async def test_a_token_with_one_signature_byte_changed_fails_on_the_signature(
    tsa: LocalTsa,
) -> None:
    reply = bytearray(await _token(tsa))
    reply[-1] ^= 0x01  # the last byte of the SignerInfo's ECDSA signature
    assert _stage(bytes(reply), NOTE, TsaTrust.from_pem(tsa.chain_pem)) == "signature"


def test_garbage_is_not_a_timestamp_reply(tsa: LocalTsa) -> None:
    assert _stage(b"\x30\x03\x02\x01\x00", NOTE, TsaTrust.from_pem(tsa.chain_pem)) == "format"


async def test_a_tsa_down_is_a_transport_failure(tsa: LocalTsa) -> None:
    tsa.down = True
    with pytest.raises(TimestampError) as failure:
        await _token(tsa)
    assert failure.value.stage == "transport"
