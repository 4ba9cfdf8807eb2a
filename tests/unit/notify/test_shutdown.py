"""A stop while a message is being handed over: the attempt finishes its send and its
bookkeeping (no resend later), within the shutdown grace; past it, the claim is the documented
ambiguous case."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

from notify.domain import State
from notify.repository import NOTIFICATIONS
from shared.contracts.notify import NotificationSentV1
from tests.unit.notify import events
from tests.unit.notify.conftest import Env, EnvFactory

SENT = NotificationSentV1.routing_key()


async def _stop_senders_mid_data(env: Env) -> None:
    """Run the senders until a message is in DATA, then cancel them as the runtime does."""
    env.mail.hold = asyncio.Event()
    running = asyncio.create_task(env.notify.sending.run())
    await asyncio.wait_for(env.mail.in_data.wait(), timeout=5)
    running.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await running


async def test_a_stop_mid_attempt_lets_it_finish_its_send_and_bookkeeping(env: Env) -> None:
    await env.take(events.act_served(env.clock))
    await _stop_senders_mid_data(env)
    [row] = await env.rows()
    assert row["state"] == State.SENDING.value
    assert row["data_sent_at"] is not None  # marked just before DATA

    finishing = asyncio.create_task(env.notify.sending.finish_in_flight())
    await asyncio.sleep(0.05)
    assert not finishing.done()  # waits for the relay's answer
    assert env.mail.hold is not None
    env.mail.hold.set()
    await asyncio.wait_for(finishing, timeout=5)

    assert len(env.mail.sent) == 1
    [row] = await env.rows()
    assert row["state"] == State.SENT.value
    assert row["address"] is None
    assert len(await env.events(SENT)) == 1
    # Nothing left for a later run to send again.
    env.clock.advance(timedelta(hours=1))
    assert await env.notify.sending.recover_stale_claims() == 0


async def test_an_attempt_outliving_the_grace_is_recovered_as_the_ambiguous_case(
    make_env: EnvFactory,
) -> None:
    env = make_env(shutdown_grace=timedelta(milliseconds=50))
    envelope = events.act_served(env.clock)
    await env.take(envelope)
    await _stop_senders_mid_data(env)
    await asyncio.wait_for(env.notify.sending.finish_in_flight(), timeout=5)
    assert env.mail.sent == []
    assert not await env.notify.sending.send_next()  # a stopped notifier starts nothing new

    # The next run: the claim went as far as DATA, so it is sent again with its Message-ID.
    after = make_env()
    env.clock.advance(timedelta(minutes=6))
    assert await after.notify.sending.recover_stale_claims() == 1
    assert await after.drain() == 1
    [message] = after.mail.sent
    assert message["Message-ID"].startswith(f"<{envelope.event_id}.email.")
    [row] = await after.rows()
    assert row["state"] == State.SENT.value
    assert row["resent_after_crash"] == 1


async def test_a_claim_taken_over_meanwhile_hands_nothing_over(env: Env) -> None:
    await env.take(events.act_served(env.clock))

    async def another_sender_takes_the_claim() -> None:
        [row] = await env.rows()
        taken = {**row, "claim_owner": "another-replica"}
        await env.store.replace(NOTIFICATIONS, taken, expected_version=row["_version"])

    env.mail.interlude = another_sender_takes_the_claim
    assert await env.drain() == 1
    assert env.mail.sent == []
    [row] = await env.rows()
    assert row["state"] == State.SENDING.value
    assert row["claim_owner"] == "another-replica"
    assert row["data_sent_at"] is None
    assert await env.events(SENT) == []
