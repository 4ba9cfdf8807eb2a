from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.declaration_status import DeclarationStatus
from ..models.territory import Territory

T = TypeVar("T", bound="Registered")


@_attrs_define
class Registered:
    """A declaration just registered.

    Attributes:
        id (str):
        status (DeclarationStatus): Lifecycle of a declaration: `registered` → `active` (CGU accepted) → `revoked` /
            `expired` / `terminated`; `registered` → `refused` (CGU refused) / `expired` /
            `terminated` / `revoked`.
        territory (Territory):
    """

    id: str
    status: DeclarationStatus
    territory: Territory
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        status = self.status.value

        territory = self.territory.value

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "status": status,
                "territory": territory,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = d.pop("id")

        status = DeclarationStatus(d.pop("status"))

        territory = Territory(d.pop("territory"))

        registered = cls(
            id=id,
            status=status,
            territory=territory,
        )

        registered.additional_properties = d
        return registered

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
