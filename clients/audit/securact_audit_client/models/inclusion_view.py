from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="InclusionView")


@_attrs_define
class InclusionView:
    """
    Attributes:
        index (int):
        size (int):
        leaf_hash (str):
        audit_path (list[str]):
        root (str):
    """

    index: int
    size: int
    leaf_hash: str
    audit_path: list[str]
    root: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        index = self.index

        size = self.size

        leaf_hash = self.leaf_hash

        audit_path = self.audit_path

        root = self.root

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "index": index,
                "size": size,
                "leaf_hash": leaf_hash,
                "audit_path": audit_path,
                "root": root,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        index = d.pop("index")

        size = d.pop("size")

        leaf_hash = d.pop("leaf_hash")

        audit_path = cast(list[str], d.pop("audit_path"))

        root = d.pop("root")

        inclusion_view = cls(
            index=index,
            size=size,
            leaf_hash=leaf_hash,
            audit_path=audit_path,
            root=root,
        )

        inclusion_view.additional_properties = d
        return inclusion_view

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
