"""Retention keeps what the erasure certificate needs of every served act, whichever version
of `delivery.act-served` delivery published (v2 adds the recipient's territory, v3 drops the
recipient's contacts: the address comes from the registry and identity's confirmed changes)."""

from __future__ import annotations

from datetime import UTC, datetime

from retention.repository import CONTACTS, SERVED_ACTS
from shared.contracts.delivery import ActServedV1, ActServedV2, ActServedV3
from shared.contracts.identity import EmailChangedV1
from shared.legal_calendar import Territory
from tests.unit.retention.conftest import Harness

SERVED = datetime(2030, 11, 4, 9, 30, tzinfo=UTC)


def _fields(act_id: str) -> dict[str, object]:
    return {
        "act_id": act_id,
        "declaration_id": "decl-1",
        "recipient_account_id": "acc-1",
        "recipient_email": "camille.durand@example.org",
        "act_nature": "signification_jugement",
        "office_id": "office-1",
        "office_name": "Étude Martin",
        "served_at": SERVED,
        "portal_url": "http://portal",
        "act_sha256": "ab" * 32,
    }


async def test_an_act_served_of_either_version_is_kept_for_the_erasure_certificate(
    harness: Harness,
) -> None:
    await harness.deliver(ActServedV1.model_validate(_fields("act-v1")))
    await harness.deliver(
        ActServedV2.model_validate(
            {**_fields("act-v2"), "recipient_territory": Territory.GUADELOUPE}
        )
    )
    v3 = {k: v for k, v in _fields("act-v3").items() if k != "recipient_email"}
    await harness.deliver(
        ActServedV3.model_validate({**v3, "recipient_territory": Territory.METROPOLE})
    )
    rows = await harness.store.find(SERVED_ACTS, sort=[("_id", 1)])
    assert [(row["_id"], row["account_id"]) for row in rows] == [
        ("act-v1", "acc-1"),
        ("act-v2", "acc-1"),
        ("act-v3", "acc-1"),
    ]
    # v3 names no address: the one the earlier versions taught stays.
    contact = await harness.store.get(CONTACTS, "account:acc-1")
    assert contact is not None
    assert contact["email"] == "camille.durand@example.org"


async def test_the_certificate_address_follows_a_confirmed_change(harness: Harness) -> None:
    await harness.deliver(ActServedV1.model_validate(_fields("act-v1")))
    await harness.deliver(
        EmailChangedV1(
            account_id="acc-1",
            declaration_id="decl-1",
            email="camille.nouvelle@example.org",
            changed_at=SERVED,
        )
    )
    contact = await harness.store.get(CONTACTS, "account:acc-1")
    assert contact is not None
    assert contact["email"] == "camille.nouvelle@example.org"
