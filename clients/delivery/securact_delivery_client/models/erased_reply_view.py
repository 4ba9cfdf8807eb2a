from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="ErasedReplyView")


@_attrs_define
class ErasedReplyView:
    """
    Attributes:
        id (str):
        act_id (str):
        received_at (str):
        sha256 (str):
        erased_at (str):
    """

    id: str
    act_id: str
    received_at: str
    sha256: str
    erased_at: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        act_id = self.act_id

        received_at = self.received_at

        sha256 = self.sha256

        erased_at = self.erased_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "act_id": act_id,
                "received_at": received_at,
                "sha256": sha256,
                "erased_at": erased_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = d.pop("id")

        act_id = d.pop("act_id")

        received_at = d.pop("received_at")

        sha256 = d.pop("sha256")

        erased_at = d.pop("erased_at")

        erased_reply_view = cls(
            id=id,
            act_id=act_id,
            received_at=received_at,
            sha256=sha256,
            erased_at=erased_at,
        )

        erased_reply_view.additional_properties = d
        return erased_reply_view

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
