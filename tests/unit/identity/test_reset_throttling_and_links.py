"""Password-reset throttling (per account, per address, no enumeration) and checking an e-mailed
link without spending it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from identity.accounts import ACTIVATION, RESET
from identity.domain import RateWindow
from tests.unit.identity.support import IP, PASSWORD, START, Rig, make_rig, refused, token_of
from tests.unit.identity.test_portal_helpers import browser, submit

RESET_EVENT = "identity.password-reset-requested.v2"
HOUR = timedelta(hours=1)


def test_a_rate_window_allows_n_events_in_any_rolling_span() -> None:
    window = RateWindow()
    for minute in range(3):
        window = window.record(START + timedelta(minutes=minute), HOUR)
    assert window.retry_after(START + timedelta(minutes=2), 3, HOUR) == 58 * 60
    # The first event leaves the window exactly one hour after it happened.
    assert window.retry_after(START + HOUR - timedelta(seconds=1), 3, HOUR) == 1
    assert window.retry_after(START + HOUR, 3, HOUR) is None
    assert window.record(START + 2 * HOUR, HOUR).at == (START + 2 * HOUR,)
    assert window.forget_at(HOUR) == START + timedelta(minutes=62)


async def test_an_account_gets_at_most_three_reset_emails_an_hour(rig: Rig) -> None:
    account_id, _ = await rig.active_recipient()
    identifier = await rig.identifier(account_id)
    start = rig.clock.now()
    for _ in range(5):
        await rig.identity.accounts.request_password_reset(identifier, ip=IP)
        rig.clock.advance(timedelta(minutes=1))
    assert len(await rig.payloads(RESET_EVENT)) == 3

    rig.clock.set(start + HOUR - timedelta(seconds=1))
    await rig.identity.accounts.request_password_reset(identifier, ip=IP)
    assert len(await rig.payloads(RESET_EVENT)) == 3
    # One hour after the first e-mail, one more may go.
    rig.clock.set(start + HOUR)
    await rig.identity.accounts.request_password_reset(identifier, ip=IP)
    await rig.identity.accounts.request_password_reset(identifier, ip=IP)
    assert len(await rig.payloads(RESET_EVENT)) == 4


async def test_the_per_account_limit_is_a_setting(tmp_path: Path) -> None:
    rig = await make_rig(tmp_path, reset_emails_per_account_per_hour=1)
    account_id, _ = await rig.active_recipient()
    identifier = await rig.identifier(account_id)
    for _ in range(3):
        await rig.identity.accounts.request_password_reset(identifier, ip=IP)
    assert len(await rig.payloads(RESET_EVENT)) == 1


async def test_an_account_over_its_limit_is_answered_like_an_unknown_identifier(
    rig: Rig,
) -> None:
    account_id, _ = await rig.active_recipient()
    identifier = await rig.identifier(account_id)
    for _ in range(3):
        await rig.identity.accounts.request_password_reset(identifier, ip=IP)
    # No error, no event: the same as for an identifier nobody has.
    await rig.identity.accounts.request_password_reset(identifier, ip=IP)
    await rig.identity.accounts.request_password_reset("ZZZZ-ZZZZ-ZZZZ", ip=IP)
    assert len(await rig.payloads(RESET_EVENT)) == 3


async def test_an_address_asking_too_often_is_refused_whatever_the_identifier(
    tmp_path: Path,
) -> None:
    rig = await make_rig(tmp_path, reset_requests_per_ip_per_hour=3)
    account_id, _ = await rig.active_recipient()
    accounts = rig.identity.accounts
    for guess in ("AAAA-AAAA-AAAA", "BBBB-BBBB-BBBB", "CCCC-CCCC-CCCC"):
        await accounts.request_password_reset(guess, ip=IP)

    known = await refused(accounts.request_password_reset(await rig.identifier(account_id), ip=IP))
    unknown = await refused(accounts.request_password_reset("DDDD-DDDD-DDDD", ip=IP))
    assert (known.status, known.code, known.extra) == (unknown.status, unknown.code, unknown.extra)
    assert (known.status, known.code) == (429, "too-many-reset-requests")
    assert known.headers["Retry-After"] == str(3600)
    assert await rig.payloads(RESET_EVENT) == []
    # Another address is not held back.
    await accounts.request_password_reset(await rig.identifier(account_id), ip="192.0.2.99")
    assert len(await rig.payloads(RESET_EVENT)) == 1


async def test_the_reset_page_says_politely_when_the_address_asked_too_often(
    tmp_path: Path,
) -> None:
    rig = await make_rig(tmp_path, reset_requests_per_ip_per_hour=1)
    async with browser(rig) as client:
        first = await submit(
            client, "/reinitialisation", "/reinitialisation", {"identifiant": "ZZZZ"}
        )
        assert first.status_code == 200
        second = await submit(
            client, "/reinitialisation", "/reinitialisation", {"identifiant": "ZZZZ"}
        )
    assert second.status_code == 429
    assert second.headers["retry-after"] == "3600"
    assert "Trop de demandes de réinitialisation" in second.text


async def test_checking_a_link_does_not_spend_it(rig: Rig) -> None:
    account_id = await rig.declare()
    token = await rig.activation_token(account_id)

    checked = await rig.identity.accounts.check_link(token, ACTIVATION)
    assert checked.purpose == ACTIVATION
    assert checked.expires_at == rig.clock.now() + timedelta(hours=72)
    assert await rig.identity.accounts.check_link(token, ACTIVATION) == checked

    assert (await rig.identity.accounts.activate(token, PASSWORD)).account_id == account_id
    used = await refused(rig.identity.accounts.check_link(token, ACTIVATION))
    assert (used.status, used.code) == (410, "link-invalid")


async def test_expired_superseded_foreign_and_unknown_links_fail_the_check(rig: Rig) -> None:
    accounts = rig.identity.accounts
    first = await rig.declare("decl-1")
    superseded = await rig.activation_token(first)
    await accounts.reissue_activation_link(first, actor="operator:op")
    current = await rig.activation_token(first)
    expiring = await rig.activation_token(await rig.declare("decl-2"))

    cases = [
        (superseded, ACTIVATION),
        (current, RESET),  # an activation link is not a reset link
        (current, "anything"),
        ("unknown-token", ACTIVATION),
    ]
    for token, purpose in cases:
        error = await refused(accounts.check_link(token, purpose))
        assert (error.status, error.code) == (410, "link-invalid")
    rig.clock.advance(timedelta(hours=72))
    assert (await refused(accounts.check_link(expiring, ACTIVATION))).status == 410
    rig.clock.advance(timedelta(seconds=-1))
    assert (await accounts.check_link(expiring, ACTIVATION)).purpose == ACTIVATION


async def test_reset_links_are_checked_too(rig: Rig) -> None:
    account_id, _ = await rig.active_recipient()
    await rig.identity.accounts.request_password_reset(await rig.identifier(account_id), ip=IP)
    [reset] = await rig.payloads(RESET_EVENT)
    token = token_of(await rig.link_url(reset))

    assert (await rig.identity.accounts.check_link(token, RESET)).purpose == RESET
    await rig.identity.accounts.complete_password_reset(token, "girafe-lumineuse-sous-la-pluie")
    assert (await refused(rig.identity.accounts.check_link(token, RESET))).status == 410


async def test_an_opened_reset_link_already_used_says_so_before_any_password(rig: Rig) -> None:
    account_id, _ = await rig.active_recipient()
    await rig.identity.accounts.request_password_reset(await rig.identifier(account_id), ip=IP)
    [reset] = await rig.payloads(RESET_EVENT)
    token = token_of(await rig.link_url(reset))
    async with browser(rig) as client:
        fresh = await client.get(f"/reinitialisation?token={token}")
        assert fresh.status_code == 200
        assert 'name="mot_de_passe"' in fresh.text
        await rig.identity.accounts.complete_password_reset(token, "girafe-lumineuse-sous-la-pluie")
        used = await client.get(f"/reinitialisation?token={token}")
    assert used.status_code == 410
    assert "lien expiré ou déjà utilisé" in used.text
    assert 'name="mot_de_passe"' not in used.text
    assert 'href="/reinitialisation"' in used.text
