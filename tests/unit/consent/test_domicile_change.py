"""A person's move, on consent's use cases over SQLite: the territory that governs CPC 664 and
662-1 follows the domicile from the change's instant (the registry's status answer and its
lookup), the proof of address is checked and stored encrypted like a registration proof, and
identity's e-mail and mobile changes show on the declaration for the offices."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from consent.declarations import ContactKind
from consent.domicile import Domicile, NotChangeable
from consent.intake import Limits
from consent.lookup import Consulter, NaturalQuery
from consent.proofs import PROOF_KEYS, object_key
from consent.refusals import DeclarationRefused
from shared.contracts.consent import ConsulterRole
from shared.contracts.identity import EmailChangedV1, MobileChangedV1, TermsAcceptedV1
from tests.unit.consent.conftest import TODAY, Harness
from tests.unit.consent.support import BIRTH, NOM, PDF, PRENOMS

ACCOUNT = "acc-1"
LIMITS = Limits(
    max_request_bytes=2 * 1024 * 1024,
    max_proof_bytes=1024 * 1024,
    max_proofs=5,
    max_json_bytes=16 * 1024,
)
GUADELOUPE = {"adresse": "5 rue Frébault", "code_postal": "97110", "commune": "Pointe-à-Pitre"}
OFFICE = Consulter(ConsulterRole.OFFICE, "client-etude-2", "etude-2")


@pytest.fixture
def h(harness: Harness) -> Harness:
    return harness


async def active(h: Harness) -> str:
    document = await h.register()
    await h.deliver(
        TermsAcceptedV1(
            account_id=ACCOUNT,
            declaration_id=document["_id"],
            terms_version=1,
            content_hash="h",
            accepted_at=datetime(2031, 4, 10, 9, 0, tzinfo=UTC),
        )
    )
    return str(document["_id"])


def upload(
    address: dict[str, str] = GUADELOUPE,
    *,
    proof_type: str = "justificatif_domicile",
    issued_on: date = TODAY - timedelta(days=10),
    content: bytes = PDF,
) -> tuple[AsyncIterator[bytes], str, str]:
    """A `POST /v1/me/domicile` body as the portal builds it: body, content type, length."""
    domicile = {"address": address, "proof": {"type": proof_type, "issued_on": str(issued_on)}}
    built = httpx.Request(
        "POST",
        "http://consent/v1/me/domicile",
        data={"domicile": json.dumps(domicile)},
        files={"proof": ("facture.pdf", content, "application/pdf")},
    )
    body = built.read()

    async def chunks() -> AsyncIterator[bytes]:
        yield body

    return chunks(), built.headers["content-type"], str(len(body))


async def move(h: Harness, **kwargs: Any) -> Any:
    body, content_type, length = upload(**kwargs)
    return await Domicile(h.consent.ctx).submit(ACCOUNT, body, content_type, length, LIMITS)


async def test_after_a_move_the_registry_answers_the_new_territory_from_the_change(
    h: Harness,
) -> None:
    declaration_id = await active(h)
    before = await h.consent.registry.status_of(declaration_id)
    assert before.territory.value == "metropole"

    h.clock.advance(timedelta(hours=2))
    moved = await move(h)
    assert moved.territory.value == "guadeloupe"

    # What delivery asks at each deposit instant: acts deposited from now on follow Guadeloupe.
    after = await h.consent.registry.status_of(declaration_id)
    assert (after.territory.value, after.active) == ("guadeloupe", True)
    hit = await h.consent.registry.search(
        OFFICE, NaturalQuery(nom=NOM, prenoms=PRENOMS, date_naissance=BIRTH), "dossier 12"
    )
    assert hit is not None
    assert hit.territory.value == "guadeloupe"
    assert hit.domicile_changed_at == h.clock.now()

    [event] = await h.events("consent.domicile-changed.v1")
    assert event.payload["territory"] == "guadeloupe"
    assert event.payload["previous_territory"] == "metropole"
    assert event.actor == f"recipient:{ACCOUNT}"
    # No address in the journal: only the territory and the proof's id.
    text = json.dumps(event.payload)
    assert "Frébault" not in text
    assert "97110" not in text

    view = await h.consent.registry.mine(ACCOUNT)
    assert view.person is not None
    assert view.person.domicile.code_postal == "97110"  # type: ignore[union-attr]
    assert [c.kind for c in view.contact_changes] == [ContactKind.DOMICILE]
    assert view.contact_changes[0].proof_id == event.payload["proof_id"]


async def test_the_proof_of_a_move_is_stored_encrypted_like_a_registration_proof(
    h: Harness,
) -> None:
    await active(h)
    await move(h)
    [event] = await h.events("consent.domicile-changed.v1")
    proof_id = event.payload["proof_id"]
    stored = h.objects.objects[object_key(proof_id)]
    assert PDF not in stored
    assert await h.store.get(PROOF_KEYS, proof_id) is not None
    download = await h.consent.rights.download(ACCOUNT, proof_id)
    assert b"".join([chunk async for chunk in download.chunks]) == PDF


@pytest.mark.parametrize(
    ("kwargs", "where"),
    [
        ({"issued_on": TODAY - timedelta(days=100)}, "issued_on"),
        ({"issued_on": TODAY + timedelta(days=1)}, "issued_on"),
        ({"proof_type": "carte_identite"}, "type"),
        ({"address": {**GUADELOUPE, "code_postal": "98713"}}, "code_postal"),
        ({"content": b"MZ\x90\x00not a document"}, "proof"),
    ],
)
async def test_a_move_needs_a_fresh_proof_of_address_in_a_served_territory(
    h: Harness, kwargs: dict[str, Any], where: str
) -> None:
    declaration_id = await active(h)
    with pytest.raises(DeclarationRefused) as refused:
        await move(h, **kwargs)
    assert any(where in error["loc"] for error in refused.value.errors)
    assert (await h.consent.registry.status_of(declaration_id)).territory.value == "metropole"
    assert await h.events("consent.domicile-changed.v1") == []
    # Nothing is left of the refused upload: the registration's two proofs only.
    assert len(await h.store.find(PROOF_KEYS, {})) == 2
    assert len(h.objects.objects) == 2


async def test_an_ended_consent_has_no_domicile_to_change(h: Harness) -> None:
    await active(h)
    await h.consent.lifecycle.revoke(ACCOUNT)
    with pytest.raises(NotChangeable):
        await move(h)


async def test_identitys_email_and_mobile_changes_show_on_the_declaration(h: Harness) -> None:
    declaration_id = await active(h)
    at = h.clock.now()
    email = EmailChangedV1(
        account_id=ACCOUNT,
        declaration_id=declaration_id,
        email="nouvelle@example.net",
        changed_at=at,
    )
    mobile = MobileChangedV1(
        account_id=ACCOUNT, declaration_id=declaration_id, mobile=None, changed_at=at
    )
    for payload in (email, mobile, email):  # the last one redelivered under a new envelope
        await h.deliver(payload)
    view = await h.consent.registry.mine(ACCOUNT)
    assert view.person is not None
    assert (str(view.person.email), view.person.mobile) == ("nouvelle@example.net", None)
    assert [c.kind for c in view.contact_changes] == [ContactKind.EMAIL, ContactKind.MOBILE]
    # The registering office reads the same declaration, with the changes' dates.
    seen = await h.consent.registry.seen_by(
        declaration_id, operator=False, office_id="etude-1", account_id=None
    )
    assert str(seen.person.email) == "nouvelle@example.net"  # type: ignore[union-attr]
    assert [c.at for c in seen.contact_changes] == [at, at]
