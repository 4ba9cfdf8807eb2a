"""The offices delivery serves for: a directory from settings, completed by identity's client
registrations (projected by `delivery.parties`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from delivery.errors import OfficeNotConfigured
from delivery.settings import OfficeProfile
from shared.legal_calendar import Territory
from shared.store.port import DocumentReader

OFFICES: Final = "offices"
"""Identity's office client registrations (the bailiff's name), by office id."""


@dataclass(frozen=True)
class Office:
    """An office (étude) as a deposit needs it."""

    office_id: str
    name: str
    email: str
    territory: Territory
    client: str
    probe: bool = False


class OfficeDirectory:
    """Where an office's territory, name and e-mail come from.

    Identity's office clients carry no territory nor e-mail, so the directory is a delivery
    setting keyed by office_id (`SECURACT_DELIVERY_OFFICES`, JSON). An office missing from it,
    or without its e-mail or territory, cannot serve (403 `office-not-configured`): its
    lettre-simple tasks would go nowhere and CPC 664 could not be checked in its legal time.
    Its name falls back to identity's registration (the bailiff's name), then the token's
    `bailiff_name` claim, then its id.
    """

    def __init__(self, profiles: Mapping[str, OfficeProfile], *, store: DocumentReader) -> None:
        self._profiles = dict(profiles)
        self._store = store

    async def resolve(self, office_id: str, client: str, bailiff_name: str | None) -> Office:
        profile = self._profiles.get(office_id, OfficeProfile())
        missing = [
            name
            for name, value in (("email", profile.email), ("territory", profile.territory))
            if value is None
        ]
        if missing:
            raise OfficeNotConfigured(office_id, missing)
        assert profile.email is not None
        assert profile.territory is not None
        name = profile.name
        if name is None:
            registered = await self._store.get(OFFICES, office_id)
            name = (registered or {}).get("bailiff_name") or bailiff_name or office_id
        return Office(
            office_id=office_id,
            name=str(name),
            email=str(profile.email),
            territory=profile.territory,
            client=client,
            probe=profile.probe,
        )
