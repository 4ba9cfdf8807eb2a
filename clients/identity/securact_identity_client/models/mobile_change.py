from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

T = TypeVar("T", bound="MobileChange")


@_attrs_define
class MobileChange:
    """
    Attributes:
        mobile (None | str): E.164 or a French mobile (06…); null or empty: no SMS
    """

    mobile: None | str

    def to_dict(self) -> dict[str, Any]:
        mobile: None | str
        mobile = self.mobile

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "mobile": mobile,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_mobile(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        mobile = _parse_mobile(d.pop("mobile"))

        mobile_change = cls(
            mobile=mobile,
        )

        return mobile_change
