from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.address import Address
    from ..models.representative import Representative


T = TypeVar("T", bound="LegalPerson")


@_attrs_define
class LegalPerson:
    """
    Attributes:
        kind (Literal['legal']):
        denomination (str):
        forme_juridique (str):
        siren (str):
        representant (Representative):
        siege (Address):
        email (str):
        mobile (None | str | Unset):
    """

    kind: Literal["legal"]
    denomination: str
    forme_juridique: str
    siren: str
    representant: Representative
    siege: Address
    email: str
    mobile: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        kind = self.kind

        denomination = self.denomination

        forme_juridique = self.forme_juridique

        siren = self.siren

        representant = self.representant.to_dict()

        siege = self.siege.to_dict()

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
                "denomination": denomination,
                "forme_juridique": forme_juridique,
                "siren": siren,
                "representant": representant,
                "siege": siege,
                "email": email,
            }
        )
        if mobile is not UNSET:
            field_dict["mobile"] = mobile

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.address import Address  # noqa: PLC0415
        from ..models.representative import Representative  # noqa: PLC0415

        d = dict(src_dict)
        kind = cast(Literal["legal"], d.pop("kind"))
        if kind != "legal":
            raise ValueError(f"kind must match const 'legal', got '{kind}'")

        denomination = d.pop("denomination")

        forme_juridique = d.pop("forme_juridique")

        siren = d.pop("siren")

        representant = Representative.from_dict(d.pop("representant"))

        siege = Address.from_dict(d.pop("siege"))

        email = d.pop("email")

        def _parse_mobile(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        mobile = _parse_mobile(d.pop("mobile", UNSET))

        legal_person = cls(
            kind=kind,
            denomination=denomination,
            forme_juridique=forme_juridique,
            siren=siren,
            representant=representant,
            siege=siege,
            email=email,
            mobile=mobile,
        )

        return legal_person
