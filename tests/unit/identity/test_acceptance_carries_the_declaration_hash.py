"""Item 5 of the recipient's law: the acceptance record and its event carry the content hash of
the declaration the person validated with it (through the portal, and through the API)."""

from __future__ import annotations

from tests.integration.identity.support import ConsentStandIn
from tests.unit.identity.support import Rig
from tests.unit.identity.test_portal_declaration_validation import RecordingConsent, browser
from tests.unit.identity.test_portal_helpers import activate, csrf_of


async def test_the_portal_acceptance_records_the_hash_of_the_declaration_validated(
    rig: Rig,
) -> None:
    consent = RecordingConsent()
    async with browser(rig, consent) as client:
        account_id = await activate(rig, client)
        page = await client.get("/cgu")
        accepted = await client.post(
            "/cgu/acceptation",
            data={
                "csrf_token": csrf_of(page.text),
                "version": "1",
                "declaration": ConsentStandIn.CONTENT_HASH,
            },
        )
    assert accepted.headers["location"] == "/actes?info=cgu-acceptees"
    [event] = await rig.payloads("identity.terms-accepted.v1")
    assert event["declaration_hash"] == ConsentStandIn.CONTENT_HASH
    [decision] = await rig.store.find("terms_decisions", {"account_id": account_id})
    assert decision["declaration_hash"] == ConsentStandIn.CONTENT_HASH
    assert decision["content_hash"] == event["content_hash"]  # the CGU's, beside it


async def test_without_a_declaration_to_validate_no_hash_is_claimed(rig: Rig) -> None:
    account_id, _ = await rig.active_recipient()
    [event] = await rig.payloads("identity.terms-accepted.v1")
    assert event["account_id"] == account_id
    assert event["declaration_hash"] is None
