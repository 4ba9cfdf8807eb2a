"""A new CGU version on the real stack, with the dev clock offset (CGU §4, §16; CPC 641, 642):

the operator publishes version 2 on Good Friday 26 March 2027 (Easter Monday 29 March is a
holiday everywhere). Notify presents the notice that Friday (the dev mailbox accepts it): it is
deemed received on the first *jour ouvré* after, Tuesday 30 March, and the version binds the
account from 24:00 of Friday 30 April, the day one month later. Identity does not know the
person's territory and takes the latest 24:00 over every territory: 24:00 in the Antilles
(UTC-4), 1 May 04:00 UTC. A second account whose notice the relay refused (SMTP 550) is not
bound. An act served after the publication, before that date, and one served after it (no
answer given) are listed, downloaded (the complete download is the prise de connaissance) and
proven by the person through delivery's API with their own token: a pending version never
locks them out; the portal shows them the new version first.

Real RabbitMQ, SeaweedFS, SQLite and dev mailbox (a subprocess, behind a relay that refuses
one address); identity, consent, notify, audit and delivery apps in this process. Identity runs
with the dev clock offset (`clock_offset_seconds`) and is restarted further ahead for the second
half, as `test_never_consented_flow` does; the others run on the same offset, moved with it.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiosmtplib
import httpx
import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session
from fastapi import FastAPI

from consent.main import create_app as create_consent
from delivery.main import create_app as create_delivery
from identity.main import create_app as create_identity
from identity.service import Identity
from notify.main import create_app as create_notify
from notify.settings import Settings as NotifySettings
from notify.templates import date_fr
from shared.auth import TokenVerifier, VerifierConfig
from shared.legal_calendar import (
    BusinessDays,
    Territory,
    first_business_day_after_presentation,
    is_holiday,
    legal_date,
)
from tests.fixtures.seaweed import S3Server
from tests.integration.consent.flow import PASSWORD, login
from tests.integration.consent.support import consent_settings, ready_bucket
from tests.integration.delivery.test_delivery_service import settings as delivery_settings
from tests.integration.identity.support import ConsentStandIn, identity_settings
from tests.integration.identity.test_portal_consent import csrf_of
from tests.support.services import eventually, running, service_env
from tests.support.stack import LINK, LateAppTransport, Mailbox, audit_for, bearer
from tests.unit.consent.support import EMAIL, NATURAL_FILES, multipart_body, natural_declaration
from tests.unit.consent.support import natural_person as person
from tests.unit.delivery.support import metadata, multipart, pdf

PARIS = ZoneInfo("Europe/Paris")
# Good Friday 2027, 09:40 in Paris: the publication and the notice's first presentation.
GOOD_FRIDAY = datetime(2027, 3, 26, 9, 40, tzinfo=PARIS)
EASTER_MONDAY = date(2027, 3, 29)
# CGU §16: the first jour ouvré after the presentation (Saturday, Sunday, Easter Monday out).
DEEMED_RECEIVED = date(2027, 3, 30)
# One month later (CPC 641): Friday 30 April, ending at 24:00; over every territory the latest
# 24:00 is the Antilles' (UTC-4): 1 May at 04:00 UTC, 06:00 in Paris.
LAST_DAY = date(2027, 4, 30)
BINDS_FROM = datetime(2027, 5, 1, 0, 0, tzinfo=ZoneInfo("America/Guadeloupe"))
# Monday 3 May 2027 at 10:00 in Paris: the version binds the account, unanswered.
AFTER_BINDING = datetime(2027, 5, 3, 10, 0, tzinfo=PARIS)

REFUSED_EMAIL = "gaspard.lemercier@example.org"
OFFICE = "etude-e2e"
OPERATOR = "operateur-cgu"
TEXT_V2 = (
    "# Conditions générales d'utilisation, version 2\n\n"
    "Un avis est réputé reçu le premier jour ouvré suivant sa première présentation.\n"
)


class DevClock:
    """The dev clock offset (`SystemClock` shifted), moved between the flow's two halves as a
    restart with another `clock_offset_seconds` would: the machine's clock still runs."""

    def __init__(self, at: datetime) -> None:
        self.offset = timedelta(0)
        self.shift_to(at)

    def shift_to(self, at: datetime) -> None:
        self.offset = at - datetime.now(UTC)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


@dataclass
class RefusingRelay:
    """An SMTP relay in front of the dev mailbox that refuses the addresses in `refused` at
    RCPT (550, permanent) and hands every other message to the mailbox."""

    mailbox_port: int
    refused: set[str] = field(default_factory=set)
    port: int = 0
    server: asyncio.Server | None = None

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address.lower() in self.refused:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 (aiosmtpd's hook name)
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        await aiosmtplib.send(
            envelope.original_content or b"",
            sender=envelope.mail_from,
            recipients=list(envelope.rcpt_tos),
            hostname="127.0.0.1",
            port=self.mailbox_port,
        )
        return "250 Message accepted for delivery"

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(
            lambda: SMTP(self, hostname="relay", decode_data=False), host="127.0.0.1", port=0
        )
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


def verifier(to_identity: LateAppTransport, clock: DevClock, audience: str) -> TokenVerifier:
    """A service's verifier of identity's tokens, on the services' shifted clock."""
    config = VerifierConfig(
        jwks_url="http://identity.test/.well-known/jwks.json",
        issuer="http://identity.test",
        audiences=frozenset({audience}),
    )
    return TokenVerifier(config, httpx.AsyncClient(transport=to_identity), clock)


@dataclass
class Platform:
    tmp: Path
    bus_prefix: str
    clock: DevClock
    to_identity: LateAppTransport
    to_delivery: LateAppTransport
    consent: httpx.AsyncClient
    delivery: httpx.AsyncClient
    box: Mailbox

    def identity(self) -> FastAPI:
        """Identity on its data directory, its clock offset where the others' now is."""
        app = create_identity(
            identity_settings(
                self.tmp / "identity",
                self.bus_prefix,
                identity_url="http://identity.test",
                clock_offset_seconds=self.clock.offset.total_seconds(),
                terms_notice_interval_seconds=0.3,
            ),
            consent_http=ConsentStandIn().client(),
            delivery_http=httpx.AsyncClient(
                transport=self.to_delivery, base_url="http://delivery.test"
            ),
        )
        self.to_identity.app = app
        return app


@asynccontextmanager
async def platform(
    tmp: Path, bus_prefix: str, s3: S3Server, box: Mailbox, relay: RefusingRelay, clock: DevClock
) -> AsyncIterator[Platform]:
    to_identity, to_delivery = LateAppTransport(), LateAppTransport()

    def identity_http() -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=to_identity, base_url="http://identity.test")

    consent = create_consent(
        consent_settings(tmp / "consent", bus_prefix, s3),
        clock=clock,
        token_verifier=verifier(to_identity, clock, "consent"),
    )
    audit = audit_for(tmp, bus_prefix, checkpoint_every=3600)
    audit_http = httpx.AsyncClient(transport=httpx.ASGITransport(app=audit), base_url="http://a")
    consent_http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=consent), base_url="http://consent"
    )
    delivery = create_delivery(
        delivery_settings(tmp / "delivery", bus_prefix, s3, identity_url="http://identity.test"),
        clock=clock,
        token_verifier=verifier(to_identity, clock, "delivery"),
        audit_http=audit_http,
        consent_http=consent_http,
        identity_http=identity_http(),
    )
    to_delivery.app = delivery
    notify = create_notify(
        NotifySettings(
            **service_env(
                tmp / "notify", bus_prefix, smtp_host="127.0.0.1", smtp_port=str(relay.port)
            ),
            identity_url="http://identity.test",
            retry_first_delay_seconds=0.5,
            retry_max_delay_seconds=2.0,
        ),
        clock=clock,
        identity_http=identity_http(),
        token_verifier=verifier(to_identity, clock, "notify"),
    )
    async with (
        running(consent) as consent_client,
        running(notify),
        running(audit),
        running(delivery) as delivery_client,
    ):
        await ready_bucket(consent)
        await ready_bucket(delivery)
        yield Platform(
            tmp, bus_prefix, clock, to_identity, to_delivery, consent_client, delivery_client, box
        )
    await audit_http.aclose()
    await consent_http.aclose()


async def mail_for(box: Mailbox, address: str, subject_part: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = []

    async def delivered() -> bool:
        async with httpx.AsyncClient(base_url=box.api) as mail:
            for summary in (await mail.get("/messages")).json().get("messages", []):
                to_person = any(to.get("Address") == address for to in summary.get("To", []))
                if to_person and subject_part in summary.get("Subject", ""):
                    found.append((await mail.get(f"/message/{summary['ID']}")).json())
                    return True
        return False

    await eventually(delivered, within=30, every=0.3)
    return found[0]


async def declared_and_active(
    p: Platform, identity: httpx.AsyncClient, office: dict[str, str], email: str, nom: str
) -> tuple[str, str]:
    """An office registers the person's declaration; the person activates the account from
    the e-mailed link and accepts the CGU in force (version 1). Declaration id, identifier."""
    today = legal_date(p.clock.now(), Territory.METROPOLE)
    declaration = natural_declaration(today, person=person(email=email, nom=nom))
    body, content_type = multipart_body(declaration, NATURAL_FILES)
    created = await p.consent.post(
        "/v1/declarations", content=body, headers={"Content-Type": content_type, **office}
    )
    assert created.status_code == 201, created.text
    activation = await mail_for(p.box, email, "")
    link = LINK.search(f"{activation.get('Text', '')}\n{activation.get('HTML', '')}")
    assert link is not None
    token = httpx.URL(link.group(0).replace("&amp;", "&")).params["token"]
    activated = await identity.post("/v1/activations", json={"token": token, "password": PASSWORD})
    assert activated.status_code == 200, activated.text
    identifier = str(activated.json()["identifier"])
    first = await login(identity, identifier)
    assert first["terms_acceptance_required"] is True
    accepted = await identity.post(
        "/v1/terms/current/acceptance", json={"version": 1}, headers=bearer(first["access_token"])
    )
    assert accepted.status_code == 200, accepted.text
    return str(created.json()["id"]), identifier


async def office_client(identity_app: FastAPI) -> tuple[str, str]:
    service: Identity = identity_app.state.identity
    client = await service.clients.register(
        OFFICE,
        "Maître Essai",
        ["registry:write", "registry:read", "acts:write", "acts:read"],
        operator="test",
    )
    return client.client_id, client.client_secret


async def client_token(identity: httpx.AsyncClient, credentials: tuple[str, str]) -> dict[str, str]:
    response = await identity.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=credentials
    )
    assert response.status_code == 200, response.text
    return bearer(str(response.json()["access_token"]))


async def serve(p: Platform, office: dict[str, str], declaration_id: str, key: str) -> bytes:
    """The office serves an act on the declaration; its id is returned with the document."""
    document = pdf(30_000, seed=key.encode())
    body, content_type = multipart(metadata(declaration_id), document)
    served = await p.delivery.post(
        "/v1/acts",
        content=body,
        headers={"Content-Type": content_type, "Idempotency-Key": key, **office},
    )
    assert served.status_code == 201, served.text
    return document


async def act_id_for(p: Platform, person: dict[str, str], document: bytes) -> str:
    inbox = await p.delivery.get("/v1/inbox", headers=person)
    assert inbox.status_code == 200, inbox.text
    digest = hashlib.sha256(document).hexdigest()
    found = [a["id"] for a in _acts(inbox.json()) if a["sha256"] == digest]
    assert len(found) == 1, inbox.text
    return found[0]


def _acts(inbox: dict[str, Any]) -> list[dict[str, Any]]:
    acts: list[dict[str, Any]] = inbox["items"]
    return acts


async def read_and_prove(p: Platform, person: dict[str, str], act_id: str, document: bytes) -> None:
    """The person downloads the act completely (the prise de connaissance) and obtains its
    evidence, all with their own token."""
    download = await p.delivery.get(f"/v1/inbox/{act_id}/content", headers=person)
    assert download.status_code == 200, download.text
    assert download.content == document

    async def handed_over() -> bool:
        view = await p.delivery.get(f"/v1/inbox/{act_id}", headers=person)
        return view.status_code == 200 and view.json()["handed_over_at"] is not None

    await eventually(handed_over, within=10)
    evidence = await p.delivery.get(f"/v1/inbox/{act_id}/evidence", headers=person)
    assert evidence.status_code == 200, evidence.text
    types = {record["type"] for record in evidence.json()["evidence"]}
    assert "ContentHandover" in types, types


async def my_terms(identity: httpx.AsyncClient, person: dict[str, str]) -> dict[str, Any]:
    response = await identity.get("/v1/me/terms", headers=person)
    assert response.status_code == 200, response.text
    terms: dict[str, Any] = response.json()
    return terms


async def until(probe: Callable[[], Awaitable[bool]]) -> None:
    await eventually(probe, within=30, every=0.3)


def test_the_dates_are_those_of_the_calendar() -> None:
    """The flow's literal dates, against the legal calendar: a Friday before Easter weekend
    and Easter Monday, deemed received the Tuesday in every territory."""
    assert GOOD_FRIDAY.weekday() == 4
    assert all(is_holiday(EASTER_MONDAY, territory) for territory in Territory)
    assert not any(is_holiday(DEEMED_RECEIVED, territory) for territory in Territory)
    assert {
        first_business_day_after_presentation(GOOD_FRIDAY, t, BusinessDays.JOURS_OUVRES)
        for t in Territory
    } == {DEEMED_RECEIVED}
    assert LAST_DAY.weekday() == 4
    assert not any(is_holiday(LAST_DAY, territory) for territory in Territory)
    assert datetime(2027, 5, 1, 4, 0, tzinfo=UTC) == BINDS_FROM


@pytest.mark.slow
async def test_a_new_cgu_version_binds_from_its_notice_and_never_locks_the_acts(
    tmp_path: Path, bus_prefix: str, s3_server: S3Server
) -> None:
    box = Mailbox(tmp_path / "mailbox")
    box.start()
    relay = RefusingRelay(box.smtp_port)
    await relay.start()
    # Every service's clock before the publication on Good Friday morning.
    clock = DevClock(GOOD_FRIDAY - timedelta(minutes=10))
    try:
        async with platform(tmp_path, bus_prefix, s3_server, box, relay, clock) as p:
            await friday_then_may(p, relay)
    finally:
        await relay.stop()
        box.stop()


async def friday_then_may(p: Platform, relay: RefusingRelay) -> None:
    identity_app = p.identity()
    async with running(identity_app) as identity:
        credentials = await office_client(identity_app)
        office = await client_token(identity, credentials)
        declaration_id, identifier = await declared_and_active(
            p, identity, office, EMAIL, "Quenneville"
        )
        _, refused_identifier = await declared_and_active(
            p, identity, office, REFUSED_EMAIL, "Lemercier"
        )
        service: Identity = identity_app.state.identity
        await service.accounts.create_operator(OPERATOR, PASSWORD)
        operator = bearer((await login(identity, OPERATOR))["access_token"])
        # The second person's mailbox is gone: the relay refuses it from now on.
        relay.refused.add(REFUSED_EMAIL)

        # The operator publishes version 2 on Good Friday: not earlier than 24:00 of the day
        # one month after a notice presented now is deemed received.
        assert p.clock.now().astimezone(PARIS).date() == GOOD_FRIDAY.date()
        too_soon = await identity.post(
            "/v1/terms",
            json={
                "markdown": TEXT_V2,
                "effective_at": (BINDS_FROM - timedelta(seconds=1)).isoformat(),
            },
            headers=operator,
        )
        assert too_soon.status_code == 422, too_soon.text
        assert too_soon.json()["type"] == "urn:securact:problem:terms-notice-too-short"
        assert datetime.fromisoformat(too_soon.json()["earliest_effective_at"]) == BINDS_FROM
        published = await identity.post(
            "/v1/terms",
            json={"markdown": TEXT_V2, "effective_at": BINDS_FROM.isoformat()},
            headers=operator,
        )
        assert published.status_code == 201, published.text
        assert published.json()["version"] == 2

        # Notify presents the notice that Friday (the dev mailbox accepted it).
        notice = await mail_for(p.box, EMAIL, "Nouvelles conditions générales")
        assert date_fr(BINDS_FROM) in notice["Text"].replace("\n", " ")
        person = bearer((await login(identity, identifier))["access_token"])
        refused = bearer((await login(identity, refused_identifier))["access_token"])

        async def both_answered() -> bool:
            mine = (await my_terms(identity, person))["notices"]
            theirs = (await my_terms(identity, refused))["notices"]
            return (
                bool(mine and theirs)
                and mine[0]["status"] == "presented"
                and theirs[0]["status"] == "failed"
            )

        await until(both_answered)
        terms = await my_terms(identity, person)
        (mine,) = terms["notices"]
        presented_at = datetime.fromisoformat(mine["presented_at"])
        assert presented_at.astimezone(PARIS).date() == GOOD_FRIDAY.date()
        assert date.fromisoformat(mine["deemed_received_on"]) == DEEMED_RECEIVED
        assert datetime.fromisoformat(mine["binds_from"]) == BINDS_FROM
        assert mine["version"] == 2
        # Until then version 1 binds the person: nothing to answer yet.
        assert terms["binding_version"] == 1
        assert terms["answer_pending"] is False
        counts = await identity.get("/v1/terms/2/notices", headers=operator)
        assert counts.status_code == 200, counts.text
        assert {
            k: counts.json()[k] for k in ("notified", "failed", "deemed_received", "bound")
        } == {
            "notified": 2,
            "failed": 1,
            "deemed_received": 1,
            "bound": 0,
        }

        # An act served after the publication, before the version binds the person.
        early = await serve(p, office, declaration_id, "cgu-vendredi")
        early_id = await act_id_for(p, person, early)

    # Monday 3 May: identity comes back with its clock past 24:00 of 30 April everywhere.
    p.clock.shift_to(AFTER_BINDING)
    identity_app = p.identity()
    async with running(identity_app) as identity:
        office = await client_token(identity, credentials)
        late = await serve(p, office, declaration_id, "cgu-mai")
        session = await login(identity, identifier)
        # Version 2 binds the person, unanswered: the session still reaches the acts.
        assert session["terms_acceptance_required"] is False
        assert session["terms_answer_pending"] is True
        assert {"acts:read", "acts:reply", "terms:accept"} <= set(session["scope"].split())
        person = bearer(session["access_token"])
        terms = await my_terms(identity, person)
        assert terms["binding_version"] == 2
        assert terms["accepted_version"] == 1
        assert terms["answer_pending"] is True
        late_id = await act_id_for(p, person, late)
        await read_and_prove(p, person, late_id, late)
        await read_and_prove(p, person, early_id, early)

        # The account whose notice failed is not bound: version 1 still, nothing to answer.
        other = await login(identity, refused_identifier)
        assert other["terms_answer_pending"] is False
        assert "terms:accept" not in other["scope"].split()
        theirs = await my_terms(identity, bearer(other["access_token"]))
        assert theirs["binding_version"] == 1
        assert theirs["notices"][0]["binds_from"] is None

        operator = bearer((await login(identity, OPERATOR))["access_token"])
        counts = (await identity.get("/v1/terms/2/notices", headers=operator)).json()
        assert (counts["notified"], counts["failed"], counts["deemed_received"]) == (2, 1, 1)
        assert counts["bound"] == 1
        assert counts["accepted"] == 0

        await portal_shows_the_new_version_first(identity_app, identifier)

        # The person answers: accepted, version 2 binds and is accepted.
        accepted = await identity.post(
            "/v1/terms/current/acceptance", json={"version": 2}, headers=person
        )
        assert accepted.status_code == 200, accepted.text
        assert (await my_terms(identity, person))["answer_pending"] is False


async def portal_shows_the_new_version_first(identity: FastAPI, identifier: str) -> None:
    """Signed in on the portal, the person is shown version 2 first, with the acceptance and
    the refusal offered; "Mes actes" stays open meanwhile."""
    portal = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=identity), base_url="http://identity.test"
    )
    async with portal:
        page = await portal.get("/connexion")
        signed = await portal.post(
            "/connexion",
            data={
                "csrf_token": csrf_of(page.text),
                "identifiant": identifier,
                "mot_de_passe": PASSWORD,
            },
        )
        assert signed.status_code == 303, signed.text
        assert signed.headers["location"].startswith("/cgu")
        cgu = await portal.get("/cgu")
        assert cgu.status_code == 200, cgu.text
        assert "version 2" in cgu.text
        assert re.search(r'name="version" value="2"', cgu.text), cgu.text
        assert 'href="/cgu/refus"' in cgu.text
        assert 'id="nouvelle-version"' in cgu.text
        # "Mes actes" stays open meanwhile: both acts are listed.
        acts = await portal.get("/actes")
        assert acts.status_code == 200, acts.text
        assert acts.text.count(metadata()["title"]) == 2, acts.text
