from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="ConsistencyView")


@_attrs_define
class ConsistencyView:
    """
    Attributes:
        first (int):
        second (int):
        first_root (str):
        second_root (str):
        consistency_path (list[str]):
    """

    first: int
    second: int
    first_root: str
    second_root: str
    consistency_path: list[str]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        first = self.first

        second = self.second

        first_root = self.first_root

        second_root = self.second_root

        consistency_path = self.consistency_path

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "first": first,
                "second": second,
                "first_root": first_root,
                "second_root": second_root,
                "consistency_path": consistency_path,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        first = d.pop("first")

        second = d.pop("second")

        first_root = d.pop("first_root")

        second_root = d.pop("second_root")

        consistency_path = cast(list[str], d.pop("consistency_path"))

        consistency_view = cls(
            first=first,
            second=second,
            first_root=first_root,
            second_root=second_root,
            consistency_path=consistency_path,
        )

        consistency_view.additional_properties = d
        return consistency_view

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
