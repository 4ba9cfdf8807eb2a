"""Activation and reset links leave identity by id only: the events carry a `link_id`, notify
fetches the link itself while it can still be used, and the sealed token is dropped as soon
as the link is used, replaced or expired. Notify's service client is ensured at start."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from identity.clients import OAuthError
from identity.domain import hash_secret
from identity.service import Identity
from identity.service_clients import service_client_id
from identity.settings import Settings
from shared.settings import MissingSecretError
from tests.unit.identity.support import (
    IP,
    PASSWORD,
    Rig,
    cheap_settings,
    make_rig,
    plain_verifier,
    refused,
    token_of,
)

ACTIVATION = "identity.activation-link-issued.v2"
RESET = "identity.password-reset-requested.v2"


async def _link_row(rig: Rig, link_id: str) -> dict[str, object]:
    [row] = await rig.store.find("links", {"link_id": link_id})
    return row


async def test_the_issued_link_events_name_the_link_and_never_carry_it(rig: Rig) -> None:
    account_id, _ = await rig.active_recipient()
    await rig.identity.accounts.request_password_reset(await rig.identifier(account_id), ip=IP)
    [reset] = await rig.payloads(RESET)
    reset_token = token_of(await rig.link_url(reset))
    activation_token = rig.spent_activation_tokens[account_id]

    for envelope in await rig.events():
        text = json.dumps(envelope.payload)
        for token in (activation_token, reset_token):
            assert token not in text, envelope.type
            assert hash_secret(token) not in text, envelope.type
    assert set(reset) == {"account_id", "email", "link_id", "expires_at"}
    assert await rig.payloads("identity.activation-link-issued.v1") == []
    assert await rig.payloads("identity.password-reset-requested.v1") == []


async def test_the_deliverable_link_is_the_e_mailed_url_and_its_token_sealed_at_rest(
    rig: Rig,
) -> None:
    account_id = await rig.declare()
    [issued] = await rig.payloads(ACTIVATION)

    link = await rig.identity.accounts.deliverable_link(issued["link_id"])

    assert link.purpose == "activation"
    assert link.url.startswith(f"{rig.settings.issuer}/activation?token=")
    token = token_of(link.url)
    row = await _link_row(rig, issued["link_id"])
    assert row["_id"] == hash_secret(token)
    assert token not in json.dumps(row), "the token is only kept sealed"
    assert row["sealed_token"]
    activated = await rig.identity.accounts.activate(token, PASSWORD)
    assert activated.account_id == account_id


async def test_a_used_link_is_gone_and_its_sealed_token_dropped(rig: Rig) -> None:
    account_id = await rig.declare()
    await rig.identity.accounts.activate(await rig.activation_token(account_id), PASSWORD)
    [issued] = await rig.payloads(ACTIVATION)

    error = await refused(rig.identity.accounts.deliverable_link(issued["link_id"]))

    assert (error.status, error.code) == (410, "link-invalid")
    row = await _link_row(rig, issued["link_id"])
    assert row["sealed_token"] is None


async def test_a_replaced_link_is_gone_and_its_sealed_token_dropped(rig: Rig) -> None:
    account_id = await rig.declare()
    await rig.identity.accounts.reissue_activation_link(account_id, actor="operator:op")
    first, second = await rig.payloads(ACTIVATION)

    error = await refused(rig.identity.accounts.deliverable_link(first["link_id"]))

    assert (error.status, error.code) == (410, "link-invalid")
    assert (await _link_row(rig, first["link_id"]))["sealed_token"] is None
    assert (await rig.identity.accounts.deliverable_link(second["link_id"])).url


async def test_an_expired_link_is_gone_and_the_purge_drops_its_sealed_token(rig: Rig) -> None:
    account_id, _ = await rig.active_recipient()
    await rig.identity.accounts.request_password_reset(await rig.identifier(account_id), ip=IP)
    [reset] = await rig.payloads(RESET)
    assert (await rig.identity.accounts.deliverable_link(reset["link_id"])).purpose == "reset"
    rig.clock.advance(timedelta(minutes=rig.settings.reset_link_ttl_minutes))

    error = await refused(rig.identity.accounts.deliverable_link(reset["link_id"]))
    assert (error.status, error.code) == (410, "link-invalid")
    assert (await _link_row(rig, reset["link_id"]))["sealed_token"] is not None

    report = await rig.identity.maintenance.purge()

    assert report.link_tokens == 1
    assert (await _link_row(rig, reset["link_id"]))["sealed_token"] is None
    assert (await rig.identity.maintenance.purge()).link_tokens == 0


async def test_an_unknown_link_id_is_not_found(rig: Rig) -> None:
    error = await refused(rig.identity.accounts.deliverable_link("no-such-link"))
    assert (error.status, error.code) == (404, "link-not-found")


async def test_notify_gets_a_service_token_for_links_and_certificates_and_nothing_else(
    rig: Rig,
) -> None:
    client_id = service_client_id("notify")
    secret = rig.settings.notify_client_secret.get_secret_value()
    stored = await rig.store.get("clients", client_id)
    assert stored is not None
    assert secret not in json.dumps(stored)

    issued = await rig.identity.clients.token(client_id, secret, "links:read", ip=IP)

    principal = await plain_verifier(rig).verify(issued.access_token)
    assert principal.role == "service"
    assert principal.scopes == frozenset({"links:read"})
    assert principal.office_id is None
    # Retention's certificate download links, for the erasure certificate e-mail.
    certificates = await rig.identity.clients.token(client_id, secret, "certificates:read", ip=IP)
    assert (await plain_verifier(rig).verify(certificates.access_token)).scopes == frozenset(
        {"certificates:read"}
    )
    for scope in ("acts:read", "registry:read links:read"):
        with pytest.raises(OAuthError):
            await rig.identity.clients.token(client_id, secret, scope, ip=IP)
    with pytest.raises(OAuthError):
        await rig.identity.clients.token(client_id, "wrong-secret", None, ip=IP)


async def test_a_new_secret_in_the_settings_replaces_the_old_one_at_the_next_start(
    tmp_path: Path,
) -> None:
    rig = await make_rig(tmp_path)
    client_id = service_client_id("notify")
    old = rig.settings.notify_client_secret.get_secret_value()
    # The same database, restarted with the new setting.
    settings = cheap_settings(tmp_path, notify_client_secret="rotated-notify-secret")
    await Identity(rig.store, rig.identity.ctx.outbox, rig.clock, settings, rig.issuer).start()

    assert await rig.identity.clients.token(client_id, "rotated-notify-secret", None, ip=IP)
    with pytest.raises(OAuthError):
        await rig.identity.clients.token(client_id, old, None, ip=IP)


def test_production_settings_refuse_the_dev_notify_client_secret(tmp_path: Path) -> None:
    values = {
        "env": "production",
        "data_dir": tmp_path,
        "amqp_url": "amqp://u:p@127.0.0.1:5672/",
        "ip_hash_pepper": "pepper",
        "allow_local_keys": True,
    }
    with pytest.raises(MissingSecretError, match="NOTIFY_CLIENT_SECRET"):
        Settings(**values)
    with pytest.raises(MissingSecretError, match="DELIVERY_CLIENT_SECRET"):
        Settings(**values, notify_client_secret="s3cret")
    assert (
        Settings(**values, notify_client_secret="s3cret", delivery_client_secret="other").env
        == "production"
    )
