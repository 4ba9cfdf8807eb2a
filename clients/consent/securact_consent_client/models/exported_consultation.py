from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.consulter_role import ConsulterRole

T = TypeVar("T", bound="ExportedConsultation")


@_attrs_define
class ExportedConsultation:
    """
    Attributes:
        consulted_at (str):
        consulter_role (ConsulterRole):
        office_id (None | str):
        purpose (str):
    """

    consulted_at: str
    consulter_role: ConsulterRole
    office_id: None | str
    purpose: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        consulted_at = self.consulted_at

        consulter_role = self.consulter_role.value

        office_id: None | str
        office_id = self.office_id

        purpose = self.purpose

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "consulted_at": consulted_at,
                "consulter_role": consulter_role,
                "office_id": office_id,
                "purpose": purpose,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        consulted_at = d.pop("consulted_at")

        consulter_role = ConsulterRole(d.pop("consulter_role"))

        def _parse_office_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        office_id = _parse_office_id(d.pop("office_id"))

        purpose = d.pop("purpose")

        exported_consultation = cls(
            consulted_at=consulted_at,
            consulter_role=consulter_role,
            office_id=office_id,
            purpose=purpose,
        )

        exported_consultation.additional_properties = d
        return exported_consultation

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
