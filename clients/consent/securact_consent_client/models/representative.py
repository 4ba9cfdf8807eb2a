from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="Representative")


@_attrs_define
class Representative:
    """
    Attributes:
        nom (str):
        prenoms (str):
        qualite (str): e.g. président, gérant
    """

    nom: str
    prenoms: str
    qualite: str

    def to_dict(self) -> dict[str, Any]:
        nom = self.nom

        prenoms = self.prenoms

        qualite = self.qualite

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "nom": nom,
                "prenoms": prenoms,
                "qualite": qualite,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        nom = d.pop("nom")

        prenoms = d.pop("prenoms")

        qualite = d.pop("qualite")

        representative = cls(
            nom=nom,
            prenoms=prenoms,
            qualite=qualite,
        )

        return representative
