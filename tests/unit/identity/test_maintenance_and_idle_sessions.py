"""The portal's idle timeout beside the 12 h lifetime, and the periodic purge of expired portal
sessions, old links and forgotten throttle records."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from identity.records import LINKS, PORTAL_SESSIONS, THROTTLES, iso
from tests.unit.identity.support import IP, Rig, make_rig, refused
from tests.unit.identity.test_portal_helpers import browser, signed_in_recipient


async def test_a_portal_session_idle_for_thirty_minutes_ends(rig: Rig) -> None:
    async with browser(rig) as client:
        await signed_in_recipient(rig, client)
        for _ in range(3):
            rig.clock.advance(timedelta(minutes=29))
            assert (await client.get("/compte")).status_code == 200
        rig.clock.advance(timedelta(minutes=30))
        ended = await client.get("/compte")
    assert ended.status_code == 303
    assert ended.headers["location"] == "/connexion?info=session-expiree"
    assert await rig.store.count(PORTAL_SESSIONS) == 0


async def test_the_idle_timeout_is_a_setting(tmp_path: Path) -> None:
    rig = await make_rig(tmp_path, portal_idle_timeout_minutes=5)
    async with browser(rig) as client:
        await signed_in_recipient(rig, client)
        rig.clock.advance(timedelta(minutes=4, seconds=59))
        assert (await client.get("/compte")).status_code == 200
        rig.clock.advance(timedelta(minutes=5))
        assert (await client.get("/compte")).status_code == 303


async def test_an_active_portal_session_still_ends_after_twelve_hours(rig: Rig) -> None:
    async with browser(rig) as client:
        await signed_in_recipient(rig, client)
        started = rig.clock.now()
        while rig.clock.now() < started + timedelta(hours=12) - timedelta(minutes=20):
            rig.clock.advance(timedelta(minutes=20))
            assert (await client.get("/compte")).status_code == 200
        rig.clock.set(started + timedelta(hours=12))
        assert (await client.get("/compte")).headers["location"] == (
            "/connexion?info=session-expiree"
        )


async def test_the_purge_drops_expired_and_idle_portal_sessions_only(rig: Rig) -> None:
    async with browser(rig) as idle_browser, browser(rig) as busy_browser:
        await signed_in_recipient(rig, idle_browser, "decl-1")
        rig.clock.advance(timedelta(minutes=20))
        await signed_in_recipient(rig, busy_browser, "decl-2")
        rig.clock.advance(timedelta(minutes=15))

        report = await rig.identity.maintenance.purge()

        assert report.portal_sessions == 1
        assert (await busy_browser.get("/compte")).status_code == 200
        assert (await idle_browser.get("/compte")).status_code == 303
        rig.clock.advance(timedelta(hours=13))
        assert (await rig.identity.maintenance.purge()).portal_sessions == 1
    assert await rig.store.count(PORTAL_SESSIONS) == 0


async def test_the_purge_keeps_links_for_the_retention_window_after_their_expiry(
    rig: Rig,
) -> None:
    used_account = await rig.declare("decl-1")
    await rig.identity.accounts.activate(
        await rig.activation_token(used_account), "cheval-batterie-agrafe-correcte"
    )
    await rig.declare("decl-2")  # its link is never used
    assert await rig.store.count(LINKS) == 2

    rig.clock.advance(timedelta(hours=72) + timedelta(days=30))
    assert (await rig.identity.maintenance.purge()).links == 0
    rig.clock.advance(timedelta(seconds=1))
    assert (await rig.identity.maintenance.purge()).links == 2
    assert await rig.store.count(LINKS) == 0


async def test_the_purge_drops_throttle_records_past_their_forget_time(rig: Rig) -> None:
    account_id, _ = await rig.active_recipient()
    for _ in range(2):
        await refused(rig.login(account_id, "pas-le-bon-mot-de-passe"))
    await rig.identity.accounts.request_password_reset(await rig.identifier(account_id), ip=IP)
    # A record written before throttles carried their forget time.
    await rig.store.insert(
        THROTTLES,
        {"_id": "ip:legacy", "failures": 3, "last_failure_at": iso(rig.clock.now())},
    )
    assert await rig.store.count(THROTTLES) == 5  # ip, account, reset ip, reset account, legacy

    rig.clock.advance(timedelta(minutes=59))
    assert (await rig.identity.maintenance.purge()).throttles == 0
    # The reset windows (one hour) go first, then the login failures (forgotten after an hour).
    rig.clock.advance(timedelta(minutes=1))
    assert (await rig.identity.maintenance.purge()).throttles == 5
    assert await rig.store.count(THROTTLES) == 0


async def test_a_throttle_is_kept_while_its_lockout_still_runs(tmp_path: Path) -> None:
    # The lockout may outlast the forget period: the record stays until both are over.
    rig = await make_rig(tmp_path, throttle_forget_after_seconds=60, throttle_max_delay_seconds=600)
    account_id, _ = await rig.active_recipient()
    for attempt in range(11):
        await refused(rig.login(account_id, "pas-le-bon-mot-de-passe"))
        if attempt < 10:
            # Wait out each delay (1 s, 2 s, … 32 s), short of the forget period.
            rig.clock.advance(timedelta(seconds=2 ** max(0, attempt - 4)))
    # The eleventh failure locks the account for 64 s, longer than the forget period.
    last_failure = rig.clock.now()
    rig.clock.set(last_failure + timedelta(seconds=61))
    assert (await refused(rig.login(account_id))).code == "too-many-attempts"
    assert (await rig.identity.maintenance.purge()).throttles == 0
    rig.clock.set(last_failure + timedelta(seconds=600))
    assert (await rig.identity.maintenance.purge()).throttles == 2
