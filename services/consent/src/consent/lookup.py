"""The registry lookup's pure rules and small types: the persons' exact search keys (HMAC of
normalised names, dates, SIREN: no fuzzy match, nothing recomputable without the pepper), the
queries, who consults, and the rolling-window limit on lookups.

Nothing here does I/O or reads the clock.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from pydantic import BaseModel, ConfigDict

from consent.domain import LegalPerson, NaturalPerson
from shared.contracts.consent import ConsulterRole

# -- search keys ----------------------------------------------------------------------------

_SPACES = re.compile(r"\s+")


def normalise(text: str) -> str:
    """The exact-match form of a name: Unicode compatibility decomposition, accents
    (combining marks) removed, case folded, runs of white space collapsed to one space, ends
    trimmed. « Élodie  Marie » and « elodie marie » match; « Jean-Pierre » and « Jean Pierre »
    do not (hyphens are kept: no fuzzy matching)."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SPACES.sub(" ", stripped.casefold()).strip()


def _keyed(pepper: bytes, *parts: str) -> str:
    # Unit separators keep ("ab", "c") and ("a", "bc") apart.
    message = "\x1f".join(parts).encode("utf-8")
    return hmac.new(pepper, message, hashlib.sha256).hexdigest()


def natural_key(pepper: bytes, nom: str, prenoms: str, born_on: date) -> str:
    """HMAC-SHA256 search key of a natural person: (nom, prénoms, date of birth)."""
    return _keyed(pepper, "natural", normalise(nom), normalise(prenoms), born_on.isoformat())


def natural_place_key(pepper: bytes, nom: str, prenoms: str, born_on: date, place: str) -> str:
    """The same, narrowed by the place of birth (used when the lookup gives one)."""
    return _keyed(
        pepper,
        "natural+place",
        normalise(nom),
        normalise(prenoms),
        born_on.isoformat(),
        normalise(place),
    )


def legal_key(pepper: bytes, siren: str) -> str:
    """HMAC-SHA256 search key of a legal person: its SIREN."""
    return _keyed(pepper, "legal", siren.strip())


class SearchKeys(BaseModel):
    """A person's HMAC search keys, stored with the declaration (`keys.person`, `keys.place`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    person: str
    place: str | None = None


@dataclass(frozen=True)
class RateWindow:
    """The recent lookups of one consulter (an office, a judicial client) for a rolling-window
    limit: at most `limit` in any `span`."""

    at: tuple[datetime, ...] = ()

    def recent(self, now: datetime, span: timedelta) -> tuple[datetime, ...]:
        return tuple(moment for moment in self.at if now - moment < span)

    def retry_after(self, now: datetime, limit: int, span: timedelta) -> int | None:
        """Whole seconds until one more lookup is allowed, or None if it is allowed now."""
        recent = sorted(self.recent(now, span))
        if len(recent) < limit:
            return None
        # The oldest lookup that must leave the window before another fits.
        leaves_at = recent[len(recent) - limit] + span
        return max(1, math.ceil((leaves_at - now).total_seconds()))

    def record(self, now: datetime, span: timedelta) -> RateWindow:
        """This window with one more lookup at `now` (those past the span dropped)."""
        return RateWindow((*self.recent(now, span), now))


def search_keys(pepper: bytes, person: NaturalPerson | LegalPerson) -> SearchKeys:
    if isinstance(person, NaturalPerson):
        return SearchKeys(
            person=natural_key(pepper, person.nom, person.prenoms, person.date_naissance),
            place=natural_place_key(
                pepper, person.nom, person.prenoms, person.date_naissance, person.lieu_naissance
            ),
        )
    return SearchKeys(person=legal_key(pepper, person.siren))


@dataclass(frozen=True)
class Consulter:
    """Who looks the registry up: an office's client or a judicial authority's."""

    role: ConsulterRole
    subject: str
    office_id: str | None

    @property
    def actor(self) -> str:
        if self.role is ConsulterRole.OFFICE and self.office_id:
            return f"office:{self.office_id}"
        return f"{self.role.value}:{self.subject}"


@dataclass(frozen=True)
class LookupLimits:
    """Registry lookups allowed in any rolling minute: per office (all its clients together)
    and per judicial authority client. The registry answers exact keys only; the limit keeps a
    client from sweeping it with guessed identities."""

    per_office: int = 60
    per_judicial_client: int = 60

    def of(self, consulter: Consulter) -> int:
        if consulter.role is ConsulterRole.OFFICE:
            return self.per_office
        return self.per_judicial_client


@dataclass(frozen=True)
class NaturalQuery:
    nom: str
    prenoms: str
    date_naissance: date
    lieu_naissance: str | None = None


@dataclass(frozen=True)
class SirenQuery:
    siren: str
