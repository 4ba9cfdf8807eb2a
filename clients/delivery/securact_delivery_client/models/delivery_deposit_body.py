from __future__ import annotations

from collections.abc import Mapping
from io import BytesIO
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from .. import types
from ..types import UNSET, File, FileTypes, Unset

T = TypeVar("T", bound="DeliveryDepositBody")


@_attrs_define
class DeliveryDepositBody:
    """
    Attributes:
        metadata (str): ActMetadata JSON
        document (File):
        judge_leave (File | Unset):
    """

    metadata: str
    document: File
    judge_leave: File | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        metadata = self.metadata

        document = self.document.to_tuple()

        judge_leave: FileTypes | Unset = UNSET
        if not isinstance(self.judge_leave, Unset):
            judge_leave = self.judge_leave.to_tuple()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "metadata": metadata,
                "document": document,
            }
        )
        if judge_leave is not UNSET:
            field_dict["judge_leave"] = judge_leave

        return field_dict

    def to_multipart(self) -> types.RequestFiles:
        files: types.RequestFiles = []

        files.append(("metadata", (None, str(self.metadata).encode(), "text/plain")))

        files.append(("document", self.document.to_tuple()))

        if not isinstance(self.judge_leave, Unset):
            files.append(("judge_leave", self.judge_leave.to_tuple()))

        for prop_name, prop in self.additional_properties.items():
            files.append((prop_name, (None, str(prop).encode(), "text/plain")))

        return files

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        metadata = d.pop("metadata")

        document = File(payload=BytesIO(d.pop("document")))

        _judge_leave = d.pop("judge_leave", UNSET)
        judge_leave: File | Unset
        if isinstance(_judge_leave, Unset):
            judge_leave = UNSET
        else:
            judge_leave = File(payload=BytesIO(_judge_leave))

        delivery_deposit_body = cls(
            metadata=metadata,
            document=document,
            judge_leave=judge_leave,
        )

        delivery_deposit_body.additional_properties = d
        return delivery_deposit_body

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
