"""An account never activated lapses 30 days (a setting) after its last activation link expired:
marked lapsed, its links gone, no link reissued, `identity.account-activation-lapsed.v1`
emitted for consent (and, through consent, retention). Measured on a manual clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from identity.accounts import ACTIVATION_LAPSED
from identity.domain import activation_lapse_cutoff, activation_lapses_at
from identity.records import ACCOUNTS, LINKS
from tests.unit.identity.support import Rig, make_rig, refused

LAPSED = "identity.account-activation-lapsed.v1"
LINK_TTL = timedelta(hours=72)


def test_the_lapse_falls_thirty_days_after_the_last_link_expired() -> None:
    expired = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    assert activation_lapses_at(expired) == datetime(2026, 3, 31, 10, 0, tzinfo=UTC)
    assert activation_lapses_at(expired, 7) == expired + timedelta(days=7)
    now = datetime(2026, 3, 31, 10, 0, tzinfo=UTC)
    assert activation_lapse_cutoff(now) == expired


async def test_an_account_never_activated_lapses_thirty_days_after_its_link_expired(
    rig: Rig,
) -> None:
    account_id = await rig.declare("decl-1")
    rig.clock.advance(LINK_TTL + timedelta(days=30) - timedelta(seconds=1))
    assert await rig.identity.lapses.lapse_due() == 0
    assert await rig.payloads(LAPSED) == []

    rig.clock.advance(timedelta(seconds=1))
    assert await rig.identity.lapses.lapse_due() == 1

    [lapsed] = await rig.payloads(LAPSED)
    assert lapsed["account_id"] == account_id
    assert lapsed["declaration_id"] == "decl-1"
    assert set(lapsed) == {"account_id", "declaration_id", "activation_expired_at", "lapsed_at"}
    account = await rig.store.get(ACCOUNTS, account_id)
    assert account is not None
    assert account[ACTIVATION_LAPSED]
    assert await rig.store.find(LINKS, {"account_id": account_id}) == []
    # Once only: a second pass finds nothing.
    rig.clock.advance(timedelta(days=1))
    assert await rig.identity.lapses.lapse_due() == 0
    assert len(await rig.payloads(LAPSED)) == 1


async def test_a_reissued_link_restarts_the_delay_from_its_own_expiry(rig: Rig) -> None:
    account_id = await rig.declare("decl-1")
    rig.clock.advance(LINK_TTL + timedelta(days=20))
    await rig.identity.accounts.reissue_activation_link(account_id, actor="operator:op")
    rig.clock.advance(timedelta(days=15))  # 35 days after the first link expired
    assert await rig.identity.lapses.lapse_due() == 0
    rig.clock.advance(LINK_TTL + timedelta(days=15))  # 30 days after the second one
    assert await rig.identity.lapses.lapse_due() == 1


async def test_an_activated_account_never_lapses(rig: Rig) -> None:
    account_id = await rig.declare("decl-1")
    await rig.identity.accounts.activate(
        await rig.activation_token(account_id), "cheval-batterie-agrafe-correcte"
    )
    rig.clock.advance(LINK_TTL + timedelta(days=400))
    assert await rig.identity.lapses.lapse_due() == 0
    assert await rig.payloads(LAPSED) == []


async def test_no_link_is_reissued_for_a_lapsed_account(rig: Rig) -> None:
    account_id = await rig.declare("decl-1")
    rig.clock.advance(LINK_TTL + timedelta(days=30))
    assert await rig.identity.lapses.lapse_due() == 1
    error = await refused(
        rig.identity.accounts.reissue_activation_link(account_id, actor="operator:op")
    )
    assert error.status == 409
    assert error.code == "activation-lapsed"


async def test_the_delay_is_a_setting(tmp_path: Path) -> None:
    rig = await make_rig(tmp_path, unactivated_expiry_days=7)
    await rig.declare("decl-1")
    rig.clock.advance(LINK_TTL + timedelta(days=7) - timedelta(seconds=1))
    assert await rig.identity.lapses.lapse_due() == 0
    rig.clock.advance(timedelta(seconds=1))
    assert await rig.identity.lapses.lapse_due() == 1


async def test_an_account_opened_before_the_rule_is_dated_by_its_last_link(rig: Rig) -> None:
    account_id = await rig.declare("decl-1")
    account = await rig.store.get(ACCOUNTS, account_id)
    assert account is not None
    await rig.store.replace(
        ACCOUNTS,
        {k: v for k, v in account.items() if k not in {"activation_link_expires_at", "_version"}},
        expected_version=int(account["_version"]),
    )
    rig.clock.advance(LINK_TTL + timedelta(days=30) - timedelta(seconds=1))
    assert await rig.identity.lapses.lapse_due() == 0
    rig.clock.advance(timedelta(seconds=1))
    assert await rig.identity.lapses.lapse_due() == 1


async def test_an_older_account_whose_links_are_gone_lapses_at_once(rig: Rig) -> None:
    account_id = await rig.declare("decl-1")
    account = await rig.store.get(ACCOUNTS, account_id)
    assert account is not None
    await rig.store.replace(
        ACCOUNTS,
        {k: v for k, v in account.items() if k not in {"activation_link_expires_at", "_version"}},
        expected_version=int(account["_version"]),
    )
    # Its links expired more than the retention window ago: the maintenance deleted them.
    rig.clock.advance(LINK_TTL + timedelta(days=rig.settings.link_retention_days, seconds=1))
    assert (await rig.identity.maintenance.purge()).links == 1
    assert await rig.identity.lapses.lapse_due() == 1
