from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

T = TypeVar("T", bound="ClientRegistration")


@_attrs_define
class ClientRegistration:
    """
    Attributes:
        office_id (str):
        bailiff_name (str):
        scopes (list[str]):
    """

    office_id: str
    bailiff_name: str
    scopes: list[str]

    def to_dict(self) -> dict[str, Any]:
        office_id = self.office_id

        bailiff_name = self.bailiff_name

        scopes = self.scopes

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "office_id": office_id,
                "bailiff_name": bailiff_name,
                "scopes": scopes,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        office_id = d.pop("office_id")

        bailiff_name = d.pop("bailiff_name")

        scopes = cast(list[str], d.pop("scopes"))

        client_registration = cls(
            office_id=office_id,
            bailiff_name=bailiff_name,
            scopes=scopes,
        )

        return client_registration
