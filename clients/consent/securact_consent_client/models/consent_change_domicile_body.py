from __future__ import annotations

from collections.abc import Mapping
from io import BytesIO
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from .. import types
from ..types import File

T = TypeVar("T", bound="ConsentChangeDomicileBody")


@_attrs_define
class ConsentChangeDomicileBody:
    """
    Attributes:
        domicile (str): JSON: {"address": {"adresse", "code_postal", "commune"}, "proof": {"type":
            "justificatif_domicile" (a legal person: "extrait_kbis"), "issued_on": "YYYY-MM-DD"}}
        proof (File):
    """

    domicile: str
    proof: File
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        domicile = self.domicile

        proof = self.proof.to_tuple()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "domicile": domicile,
                "proof": proof,
            }
        )

        return field_dict

    def to_multipart(self) -> types.RequestFiles:
        files: types.RequestFiles = []

        files.append(("domicile", (None, str(self.domicile).encode(), "text/plain")))

        files.append(("proof", self.proof.to_tuple()))

        for prop_name, prop in self.additional_properties.items():
            files.append((prop_name, (None, str(prop).encode(), "text/plain")))

        return files

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        domicile = d.pop("domicile")

        proof = File(payload=BytesIO(d.pop("proof")))

        consent_change_domicile_body = cls(
            domicile=domicile,
            proof=proof,
        )

        consent_change_domicile_body.additional_properties = d
        return consent_change_domicile_body

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
