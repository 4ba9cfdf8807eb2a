from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="JudgeLeaveView")


@_attrs_define
class JudgeLeaveView:
    """The judge's leave an act was served on: its fingerprint and the declared order.

    Attributes:
        sha256 (str):
        size (int):
        ordered_on (datetime.date | None):
        issued_by (None | str):
    """

    sha256: str
    size: int
    ordered_on: datetime.date | None
    issued_by: None | str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        sha256 = self.sha256

        size = self.size

        ordered_on: None | str
        if isinstance(self.ordered_on, datetime.date):
            ordered_on = self.ordered_on.isoformat()
        else:
            ordered_on = self.ordered_on

        issued_by: None | str
        issued_by = self.issued_by

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "sha256": sha256,
                "size": size,
                "ordered_on": ordered_on,
                "issued_by": issued_by,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        sha256 = d.pop("sha256")

        size = d.pop("size")

        def _parse_ordered_on(data: object) -> datetime.date | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                ordered_on_type_0 = datetime.date.fromisoformat(data)

                return ordered_on_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.date | None, data)

        ordered_on = _parse_ordered_on(d.pop("ordered_on"))

        def _parse_issued_by(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        issued_by = _parse_issued_by(d.pop("issued_by"))

        judge_leave_view = cls(
            sha256=sha256,
            size=size,
            ordered_on=ordered_on,
            issued_by=issued_by,
        )

        judge_leave_view.additional_properties = d
        return judge_leave_view

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
