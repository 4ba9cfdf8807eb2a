from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="Address")


@_attrs_define
class Address:
    """
    Attributes:
        adresse (str):
        code_postal (str):
        commune (str):
    """

    adresse: str
    code_postal: str
    commune: str

    def to_dict(self) -> dict[str, Any]:
        adresse = self.adresse

        code_postal = self.code_postal

        commune = self.commune

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "adresse": adresse,
                "code_postal": code_postal,
                "commune": commune,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        adresse = d.pop("adresse")

        code_postal = d.pop("code_postal")

        commune = d.pop("commune")

        address = cls(
            adresse=adresse,
            code_postal=code_postal,
            commune=commune,
        )

        return address
