from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="TerminationResponse")


@_attrs_define
class TerminationResponse:
    """
    Attributes:
        terminated_at (datetime.datetime):
        readable_until (datetime.datetime): the acts stay readable until this instant (exclusive): 24:00 of the last day
            of the two months, Paris legal time; retention erases them then
        read_only (bool | Unset):  Default: True.
    """

    terminated_at: datetime.datetime
    readable_until: datetime.datetime
    read_only: bool | Unset = True
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        terminated_at = self.terminated_at.isoformat()

        readable_until = self.readable_until.isoformat()

        read_only = self.read_only

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "terminated_at": terminated_at,
                "readable_until": readable_until,
            }
        )
        if read_only is not UNSET:
            field_dict["read_only"] = read_only

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        terminated_at = datetime.datetime.fromisoformat(d.pop("terminated_at"))

        readable_until = datetime.datetime.fromisoformat(d.pop("readable_until"))

        read_only = d.pop("read_only", UNSET)

        termination_response = cls(
            terminated_at=terminated_at,
            readable_until=readable_until,
            read_only=read_only,
        )

        termination_response.additional_properties = d
        return termination_response

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
