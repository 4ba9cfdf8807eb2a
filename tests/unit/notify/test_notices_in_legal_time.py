"""CPC 748-3 and décret 2017-292: the notice of availability (which stands for the visa) and
the lettre simple task state the date and hour of the service in the recipient's legal time,
and name it; the SMS gives the date, the hour and the zone briefly. Events published before the
territory travelled with the act are given in Paris's legal time, named."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import pytest

from shared.legal_calendar import Territory
from tests.unit.notify import events
from tests.unit.notify.conftest import Env


@dataclass(frozen=True)
class Case:
    territory: Territory
    served_at: datetime
    email: str
    sms: str


# Each instant's local date differs from its UTC date and, overseas, from its Paris date.
CASES = [
    Case(
        Territory.METROPOLE,
        datetime(2027, 3, 10, 23, 30, tzinfo=UTC),
        "jeudi 11 mars 2027 à 0 h 30 (heure légale de Paris)",
        "11 mars 2027 à 0 h 30 (heure de Paris)",
    ),
    Case(
        Territory.ALSACE_MOSELLE,
        datetime(2027, 7, 14, 22, 30, tzinfo=UTC),  # summer time: UTC+2
        "jeudi 15 juillet 2027 à 0 h 30 (heure légale de Paris)",
        "15 juillet 2027 à 0 h 30 (heure de Paris)",
    ),
    Case(
        Territory.GUADELOUPE,
        datetime(2027, 3, 11, 0, 30, tzinfo=UTC),
        "mercredi 10 mars 2027 à 20 h 30 (heure légale de la Guadeloupe)",
        "10 mars 2027 à 20 h 30 (heure de Guadeloupe)",
    ),
    Case(
        Territory.MARTINIQUE,
        datetime(2027, 3, 11, 0, 30, tzinfo=UTC),
        "mercredi 10 mars 2027 à 20 h 30 (heure légale de la Martinique)",
        "10 mars 2027 à 20 h 30 (heure de Martinique)",
    ),
    Case(
        Territory.GUYANE,
        datetime(2027, 3, 11, 1, 30, tzinfo=UTC),
        "mercredi 10 mars 2027 à 22 h 30 (heure légale de la Guyane)",
        "10 mars 2027 à 22 h 30 (heure de Guyane)",
    ),
    Case(
        Territory.REUNION,
        datetime(2027, 3, 10, 21, 30, tzinfo=UTC),
        "jeudi 11 mars 2027 à 1 h 30 (heure légale de La Réunion)",
        "11 mars 2027 à 1 h 30 (heure de La Réunion)",
    ),
    Case(
        Territory.MAYOTTE,
        datetime(2027, 3, 10, 22, 15, tzinfo=UTC),
        "jeudi 11 mars 2027 à 1 h 15 (heure légale de Mayotte)",
        "11 mars 2027 à 1 h 15 (heure de Mayotte)",
    ),
    Case(
        Territory.SAINT_MARTIN,
        datetime(2027, 3, 11, 0, 30, tzinfo=UTC),
        "mercredi 10 mars 2027 à 20 h 30 (heure légale de Saint-Martin)",
        "10 mars 2027 à 20 h 30 (heure de Saint-Martin)",
    ),
    Case(
        Territory.SAINT_BARTHELEMY,
        datetime(2027, 3, 11, 0, 30, tzinfo=UTC),
        "mercredi 10 mars 2027 à 20 h 30 (heure légale de Saint-Barthélemy)",
        "10 mars 2027 à 20 h 30 (heure de Saint-Barthélemy)",
    ),
]


def _text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert isinstance(part, EmailMessage)
    return str(part.get_content())


def _html(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert isinstance(part, EmailMessage)
    return str(part.get_content())


def test_every_territory_has_a_case_whose_local_date_is_not_the_utc_or_paris_date() -> None:
    assert {case.territory for case in CASES} == set(Territory)
    paris = ZoneInfo("Europe/Paris")
    for case in CASES:
        local = case.served_at.astimezone(case.territory.time_zone).date()
        assert local != case.served_at.date(), case.territory
        if case.territory.time_zone.key != "Europe/Paris":
            assert local != case.served_at.astimezone(paris).date(), case.territory


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.territory.value)
async def test_notice_of_availability_states_date_and_hour_in_the_recipients_legal_time_named(
    env: Env, case: Case
) -> None:
    await env.take(
        events.act_served(
            env.clock, mobile="+33612345678", territory=case.territory, served_at=case.served_at
        )
    )
    assert await env.drain() == 2
    [mail] = env.mail.sent
    assert f"signifié par voie électronique le {case.email}." in " ".join(_text(mail).split())
    assert f"<strong>{case.email}</strong>" in _html(mail)
    [sms] = env.sms.sent
    assert f"signifié le {case.sms} par" in sms.text


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.territory.value)
async def test_lettre_simple_task_states_the_service_in_the_recipients_legal_time_named(
    env: Env, case: Case
) -> None:
    await env.take(
        events.lettre_simple_due(env.clock, territory=case.territory, served_at=case.served_at)
    )
    assert await env.drain() == 1
    [mail] = env.mail.sent
    assert f"Signifié le : {case.email}\n" in _text(mail)
    assert case.email in _html(mail)


async def test_an_act_served_in_guadeloupe_at_20_30_is_not_announced_on_the_paris_date(
    env: Env,
) -> None:
    served_at = datetime(2027, 3, 11, 0, 30, tzinfo=UTC)  # Wed 10 March, 20:30 in Guadeloupe
    await env.take(
        events.act_served(
            env.clock, mobile="+33612345678", territory=Territory.GUADELOUPE, served_at=served_at
        )
    )
    await env.drain()
    [mail] = env.mail.sent
    [sms] = env.sms.sent
    for text in (_text(mail), _html(mail), sms.text):
        assert "11 mars" not in text
        assert "Paris" not in text


async def test_an_act_served_event_without_territory_is_dated_in_paris_legal_time_named(
    env: Env,
) -> None:
    served_at = datetime(2027, 3, 11, 0, 30, tzinfo=UTC)
    await env.take(events.act_served_v1(env.clock, mobile="+33612345678", served_at=served_at))
    assert await env.drain() == 2
    [mail] = env.mail.sent
    assert "jeudi 11 mars 2027 à 1 h 30 (heure légale de Paris)" in _text(mail)
    [sms] = env.sms.sent
    assert "signifié le 11 mars 2027 à 1 h 30 (heure de Paris) par" in sms.text


async def test_a_lettre_simple_event_without_territory_is_dated_in_paris_legal_time_named(
    env: Env,
) -> None:
    served_at = datetime(2027, 3, 11, 0, 30, tzinfo=UTC)
    await env.take(events.lettre_simple_due_v1(env.clock, served_at=served_at))
    assert await env.drain() == 1
    [mail] = env.mail.sent
    assert "Signifié le : jeudi 11 mars 2027 à 1 h 30 (heure légale de Paris)\n" in _text(mail)


async def test_notice_says_the_service_takes_effect_at_sending_and_time_limits_may_run_from_it(
    env: Env,
) -> None:
    await env.take(events.act_served(env.clock, territory=Territory.REUNION))
    await env.drain()
    [mail] = env.mail.sent
    for text in (" ".join(_text(mail).split()), _html(mail).replace("\u2019", "'")):
        assert "La signification prend effet à cette date, celle de l'envoi de l'acte" in text
        assert "des délais légaux" in text
        assert "peuvent courir à compter de cette date" in text
        assert "article 748-3" in text
