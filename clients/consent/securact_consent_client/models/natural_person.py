from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.address import Address


T = TypeVar("T", bound="NaturalPerson")


@_attrs_define
class NaturalPerson:
    """
    Attributes:
        kind (Literal['natural']):
        nom (str):
        prenoms (str):
        date_naissance (datetime.date):
        lieu_naissance (str):
        domicile (Address):
        email (str):
        mobile (None | str | Unset):
    """

    kind: Literal["natural"]
    nom: str
    prenoms: str
    date_naissance: datetime.date
    lieu_naissance: str
    domicile: Address
    email: str
    mobile: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        kind = self.kind

        nom = self.nom

        prenoms = self.prenoms

        date_naissance = self.date_naissance.isoformat()

        lieu_naissance = self.lieu_naissance

        domicile = self.domicile.to_dict()

        email = self.email

        mobile: None | str | Unset
        if isinstance(self.mobile, Unset):
            mobile = UNSET
        else:
            mobile = self.mobile

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "kind": kind,
                "nom": nom,
                "prenoms": prenoms,
                "date_naissance": date_naissance,
                "lieu_naissance": lieu_naissance,
                "domicile": domicile,
                "email": email,
            }
        )
        if mobile is not UNSET:
            field_dict["mobile"] = mobile

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.address import Address  # noqa: PLC0415

        d = dict(src_dict)
        kind = cast(Literal["natural"], d.pop("kind"))
        if kind != "natural":
            raise ValueError(f"kind must match const 'natural', got '{kind}'")

        nom = d.pop("nom")

        prenoms = d.pop("prenoms")

        date_naissance = datetime.date.fromisoformat(d.pop("date_naissance"))

        lieu_naissance = d.pop("lieu_naissance")

        domicile = Address.from_dict(d.pop("domicile"))

        email = d.pop("email")

        def _parse_mobile(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        mobile = _parse_mobile(d.pop("mobile", UNSET))

        natural_person = cls(
            kind=kind,
            nom=nom,
            prenoms=prenoms,
            date_naissance=date_naissance,
            lieu_naissance=lieu_naissance,
            domicile=domicile,
            email=email,
            mobile=mobile,
        )

        return natural_person
