from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="Lookup")


@_attrs_define
class Lookup:
    """A registry lookup: natural-person keys or a SIREN, and the purpose (file reference).

    Attributes:
        purpose (str):
        nom (None | str | Unset):
        prenoms (None | str | Unset):
        date_naissance (datetime.date | None | Unset):
        lieu_naissance (None | str | Unset):
        siren (None | str | Unset):
    """

    purpose: str
    nom: None | str | Unset = UNSET
    prenoms: None | str | Unset = UNSET
    date_naissance: datetime.date | None | Unset = UNSET
    lieu_naissance: None | str | Unset = UNSET
    siren: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        purpose = self.purpose

        nom: None | str | Unset
        if isinstance(self.nom, Unset):
            nom = UNSET
        else:
            nom = self.nom

        prenoms: None | str | Unset
        if isinstance(self.prenoms, Unset):
            prenoms = UNSET
        else:
            prenoms = self.prenoms

        date_naissance: None | str | Unset
        if isinstance(self.date_naissance, Unset):
            date_naissance = UNSET
        elif isinstance(self.date_naissance, datetime.date):
            date_naissance = self.date_naissance.isoformat()
        else:
            date_naissance = self.date_naissance

        lieu_naissance: None | str | Unset
        if isinstance(self.lieu_naissance, Unset):
            lieu_naissance = UNSET
        else:
            lieu_naissance = self.lieu_naissance

        siren: None | str | Unset
        if isinstance(self.siren, Unset):
            siren = UNSET
        else:
            siren = self.siren

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "purpose": purpose,
            }
        )
        if nom is not UNSET:
            field_dict["nom"] = nom
        if prenoms is not UNSET:
            field_dict["prenoms"] = prenoms
        if date_naissance is not UNSET:
            field_dict["date_naissance"] = date_naissance
        if lieu_naissance is not UNSET:
            field_dict["lieu_naissance"] = lieu_naissance
        if siren is not UNSET:
            field_dict["siren"] = siren

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        purpose = d.pop("purpose")

        def _parse_nom(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        nom = _parse_nom(d.pop("nom", UNSET))

        def _parse_prenoms(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        prenoms = _parse_prenoms(d.pop("prenoms", UNSET))

        def _parse_date_naissance(data: object) -> datetime.date | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                date_naissance_type_0 = datetime.date.fromisoformat(data)

                return date_naissance_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.date | None | Unset, data)

        date_naissance = _parse_date_naissance(d.pop("date_naissance", UNSET))

        def _parse_lieu_naissance(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        lieu_naissance = _parse_lieu_naissance(d.pop("lieu_naissance", UNSET))

        def _parse_siren(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        siren = _parse_siren(d.pop("siren", UNSET))

        lookup = cls(
            purpose=purpose,
            nom=nom,
            prenoms=prenoms,
            date_naissance=date_naissance,
            lieu_naissance=lieu_naissance,
            siren=siren,
        )

        return lookup
