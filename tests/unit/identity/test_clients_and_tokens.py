"""Office clients (client credentials), token claims, key rotation, the revocation helper."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from identity.clients import OAuthError
from identity.tokens import TokenKeyFile
from shared.auth import InMemoryRevocationList, TokenError, TokenErrorReason
from shared.auth.revocations import apply_recent, apply_revocation
from shared.clock import ManualClock
from shared.contracts.envelope import new_envelope
from shared.contracts.identity import (
    CredentialRevocationReason,
    CredentialsRevokedV1,
    SessionRevocationReason,
    SessionRevokedV1,
)
from tests.unit.identity.support import IP, START, Rig, plain_verifier, refused


async def test_a_registered_client_gets_a_token_with_its_scopes_and_office(rig: Rig) -> None:
    client = await rig.identity.clients.register(
        "etude-7", "Maître Dupont", ["registry:read", "acts:write"], operator="op"
    )
    stored = await rig.store.get("clients", client.client_id)
    assert stored is not None
    assert client.client_secret not in str(stored)

    issued = await rig.identity.clients.token(client.client_id, client.client_secret, None, ip=IP)

    principal = await plain_verifier(rig, audience="delivery").verify(issued.access_token)
    assert principal.subject == client.client_id
    assert principal.role == "office"
    assert principal.office_id == "etude-7"
    assert principal.scopes == frozenset({"registry:read", "acts:write"})
    assert principal.claims["bailiff_name"] == "Maître Dupont"
    assert principal.expires_at - principal.issued_at <= timedelta(minutes=10)
    assert {"jti", "iat", "exp", "iss", "aud"} <= set(principal.claims)


async def test_a_judicial_authority_client_reads_the_registry_and_nothing_else(
    rig: Rig,
) -> None:
    client = await rig.identity.clients.register_judicial(
        "Tribunal judiciaire de Lyon", operator="op"
    )
    issued = await rig.identity.clients.token(client.client_id, client.client_secret, None, ip=IP)
    principal = await plain_verifier(rig, audience="consent").verify(issued.access_token)
    assert principal.role == "judicial_authority"
    assert principal.scopes == frozenset({"registry:read"})
    assert principal.office_id is None
    assert principal.claims["authority_name"] == "Tribunal judiciaire de Lyon"
    with pytest.raises(OAuthError):
        await rig.identity.clients.token(
            client.client_id, client.client_secret, "registry:write", ip=IP
        )
    described = await rig.identity.clients.describe(client.client_id)
    assert (described["kind"], described["office_id"]) == ("judicial_authority", None)
    [registered] = await rig.events("identity.judicial-client-registered.v1")
    assert registered.payload["scopes"] == ["registry:read"]
    assert registered.actor == "operator:op"


async def test_a_client_may_narrow_but_not_widen_its_scopes(rig: Rig) -> None:
    client = await rig.identity.clients.register("e", "M", ["registry:read"], operator="op")
    clients = rig.identity.clients

    narrowed = await clients.token(client.client_id, client.client_secret, "registry:read", ip=IP)
    assert narrowed.scope == "registry:read"
    with pytest.raises(OAuthError) as widened:
        await clients.token(client.client_id, client.client_secret, "acts:write", ip=IP)
    assert (widened.value.error, widened.value.status) == ("invalid_scope", 400)


async def test_a_token_request_beyond_the_clients_scopes_is_journaled_as_failed(
    rig: Rig,
) -> None:
    client = await rig.identity.clients.register("e", "M", ["registry:read"], operator="op")
    with pytest.raises(OAuthError) as widened:
        await rig.identity.clients.token(
            client.client_id, client.client_secret, "registry:read acts:write", ip=IP
        )
    assert widened.value.error == "invalid_scope"

    [event] = await rig.events("identity.identification-attempted.v1")
    assert event.payload["client_id"] == client.client_id
    assert event.payload["account_id"] is None
    assert event.payload["outcome"] == "failed"
    assert event.subject == f"client:{client.client_id}"
    text = event.model_dump_json()
    assert client.client_secret not in text
    assert IP not in text


async def test_a_wrong_secret_or_unknown_client_is_invalid_client(rig: Rig) -> None:
    client = await rig.identity.clients.register("e", "M", ["registry:read"], operator="op")
    for client_id, secret in ((client.client_id, "wrong"), ("office-unknown", "x")):
        with pytest.raises(OAuthError) as error:
            await rig.identity.clients.token(client_id, secret, None, ip=IP)
        assert (error.value.error, error.value.status) == ("invalid_client", 401)
    outcomes = [p["outcome"] for p in await rig.payloads("identity.identification-attempted.v1")]
    assert outcomes == ["failed", "failed"]


async def test_unknown_scopes_cannot_be_granted_to_a_client(rig: Rig) -> None:
    error = await refused(rig.identity.clients.register("e", "M", ["admin"], operator="op"))
    assert (error.status, error.extra["unknown_scopes"]) == (422, ["admin"])


def test_a_rotated_key_is_published_before_it_signs_and_the_old_one_after(tmp_path: Path) -> None:
    clock = ManualClock(START)
    keys = TokenKeyFile(tmp_path / "keys.json", clock)
    keys.ensure()
    old = keys.current().signing_key(clock.now())
    assert (tmp_path / "keys.json").stat().st_mode & 0o077 == 0

    rotated = keys.rotate(timedelta(minutes=10), timedelta(minutes=10))
    new = rotated.keys[-1].key

    published = {k["kid"] for k in rotated.jwks(clock.now())["keys"]}
    assert published == {old.key_id, new.key_id}
    assert rotated.signing_key(clock.now()) == old
    clock.advance(timedelta(minutes=10))
    assert keys.current().signing_key(clock.now()).key_id == new.key_id
    clock.advance(timedelta(minutes=10, seconds=59))
    assert {k["kid"] for k in keys.current().jwks(clock.now())["keys"]} == published
    clock.advance(timedelta(seconds=1))
    assert {k["kid"] for k in keys.current().jwks(clock.now())["keys"]} == {new.key_id}


async def test_a_token_from_an_unknown_key_is_refused(rig: Rig, tmp_path: Path) -> None:
    other = TokenKeyFile(tmp_path / "other.json", rig.clock)
    other.ensure()
    from identity.tokens import TokenIssuer

    forger = TokenIssuer(
        other,
        rig.clock,
        issuer=rig.settings.issuer,
        audiences=("identity",),
        ttl=timedelta(minutes=10),
    )
    with pytest.raises(TokenError) as error:
        await plain_verifier(rig).verify(
            forger.issue("x", role="operator", scopes=frozenset()).token
        )
    assert error.value.reason is TokenErrorReason.UNKNOWN_KEY


async def test_revocation_events_feed_the_shared_revocation_list(rig: Rig) -> None:
    _, tokens = await rig.active_recipient()
    principal = await plain_verifier(rig).verify(tokens.access_token)
    clock = rig.clock
    revocations = InMemoryRevocationList(clock)
    assert not await revocations.is_revoked(principal)

    session_event = new_envelope(
        SessionRevokedV1(
            account_id=principal.subject,
            session_id=tokens.session_id,
            reason=SessionRevocationReason.LOGOUT,
        ),
        subject="account:x",
        actor="service:identity",
        clock=clock,
    )
    assert apply_revocation(session_event, revocations)
    assert await revocations.is_revoked(principal)

    fresh = InMemoryRevocationList(clock)
    credentials_event = new_envelope(
        CredentialsRevokedV1(
            account_id=principal.subject,
            issued_before=clock.now(),
            reason=CredentialRevocationReason.OPERATOR,
        ),
        subject="account:x",
        actor="service:identity",
        clock=clock,
    )
    assert apply_revocation(credentials_event, fresh)
    assert await fresh.is_revoked(principal)


async def test_a_starting_service_catches_up_from_identitys_recent_revocations(rig: Rig) -> None:
    account_id, tokens = await rig.active_recipient()
    principal = await plain_verifier(rig).verify(tokens.access_token)
    await rig.identity.accounts.revoke_all_credentials(account_id, operator="op")

    revocations = InMemoryRevocationList(rig.clock)
    recent = await rig.identity.sessions.recent_revocations(rig.clock.now() - timedelta(minutes=11))
    assert apply_recent(recent, revocations) == 1
    assert await revocations.is_revoked(principal)


async def test_a_disabled_client_gets_no_token_until_enabled_again(rig: Rig) -> None:
    client = await rig.identity.clients.register("e", "M", ["registry:read"], operator="op")
    clients = rig.identity.clients
    await clients.disable(client.client_id, operator="op")

    with pytest.raises(OAuthError) as error:
        await clients.token(client.client_id, client.client_secret, None, ip=IP)
    assert (error.value.error, error.value.status) == ("invalid_client", 401)
    assert (await clients.describe(client.client_id))["disabled"] is True

    await clients.enable(client.client_id, operator="op")
    rig.clock.advance(timedelta(seconds=1))
    assert await clients.token(client.client_id, client.client_secret, None, ip=IP)


async def test_disabling_a_client_revokes_the_tokens_it_holds_everywhere(rig: Rig) -> None:
    client = await rig.identity.clients.register("e", "M", ["registry:read"], operator="op")
    issued = await rig.identity.clients.token(client.client_id, client.client_secret, None, ip=IP)
    principal = await plain_verifier(rig, audience="delivery").verify(issued.access_token)
    assert not await rig.identity.revocations.is_revoked(principal)
    rig.clock.advance(timedelta(seconds=1))

    await rig.identity.clients.disable(client.client_id, operator="op")

    assert await rig.identity.revocations.is_revoked(principal)
    [revoked] = await rig.payloads("identity.credentials-revoked.v1")
    assert revoked["account_id"] == client.client_id
    # Other services' lists learn it from the event.
    others = InMemoryRevocationList(rig.clock)
    for envelope in await rig.events("identity.credentials-revoked.v1"):
        apply_revocation(envelope, others)
    assert await others.is_revoked(principal)


async def test_a_rotated_secret_replaces_the_old_one_at_once(rig: Rig) -> None:
    client = await rig.identity.clients.register("e", "M", ["registry:read"], operator="op")
    clients = rig.identity.clients

    rotated = await clients.rotate_secret(client.client_id, operator="op")

    assert rotated.client_secret != client.client_secret
    stored = await rig.store.get("clients", client.client_id)
    assert stored is not None
    assert rotated.client_secret not in str(stored)
    with pytest.raises(OAuthError) as old:
        await clients.token(client.client_id, client.client_secret, None, ip=IP)
    assert old.value.error == "invalid_client"
    assert await clients.token(client.client_id, rotated.client_secret, None, ip=IP)


async def test_operator_actions_on_an_unknown_client_are_404(rig: Rig) -> None:
    clients = rig.identity.clients
    for call in (
        clients.disable("office-nope", operator="op"),
        clients.enable("office-nope", operator="op"),
        clients.rotate_secret("office-nope", operator="op"),
        clients.describe("office-nope"),
    ):
        assert (await refused(call)).code == "client-not-found"
