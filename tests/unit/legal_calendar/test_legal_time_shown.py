"""The one way an instant is shown to a person (notices, SMS, portal): in the legal time of
their territory (décret 2017-292), named."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.french import legal_datetime, legal_time_name
from shared.legal_calendar import Territory

# 2027-03-11T00:30Z: Wednesday 10 March at 20:30 in the Antilles, 1:30 on the 11th in Paris.
INSTANT = datetime(2027, 3, 11, 0, 30, tzinfo=UTC)


@pytest.mark.parametrize("territory", list(Territory), ids=lambda t: t.value)
def test_every_territory_names_its_legal_time_in_full_and_briefly(territory: Territory) -> None:
    full = legal_time_name(territory)
    brief = legal_time_name(territory, brief=True)
    assert full.startswith("heure légale de ")
    assert brief.startswith("heure de ")
    assert len(brief) < len(full)


def test_an_instant_is_shown_in_the_territorys_legal_time_named() -> None:
    assert (
        legal_datetime(INSTANT, Territory.GUADELOUPE)
        == "mercredi 10 mars 2027 à 20 h 30 (heure légale de la Guadeloupe)"
    )
    assert (
        legal_datetime(INSTANT, Territory.METROPOLE)
        == "jeudi 11 mars 2027 à 1 h 30 (heure légale de Paris)"
    )
    assert (
        legal_datetime("2027-03-11T00:30:00+00:00", Territory.GUYANE, weekday=False)
        == "10 mars 2027 à 21 h 30 (heure légale de la Guyane)"
    )


def test_the_brief_form_keeps_date_hour_and_zone_without_the_weekday() -> None:
    assert (
        legal_datetime(INSTANT, Territory.MARTINIQUE, brief=True)
        == "10 mars 2027 à 20 h 30 (heure de Martinique)"
    )


def test_an_instant_without_offset_is_refused() -> None:
    with pytest.raises(ValueError, match="offset"):
        legal_datetime(datetime(2027, 3, 11, 0, 30), Territory.REUNION)  # noqa: DTZ001
