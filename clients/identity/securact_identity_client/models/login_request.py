from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="LoginRequest")


@_attrs_define
class LoginRequest:
    """
    Attributes:
        identifier (str):
        password (str):
        totp (None | str | Unset): TOTP code or a recovery code, when enrolled
    """

    identifier: str
    password: str
    totp: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        identifier = self.identifier

        password = self.password

        totp: None | str | Unset
        if isinstance(self.totp, Unset):
            totp = UNSET
        else:
            totp = self.totp

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "identifier": identifier,
                "password": password,
            }
        )
        if totp is not UNSET:
            field_dict["totp"] = totp

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        identifier = d.pop("identifier")

        password = d.pop("password")

        def _parse_totp(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        totp = _parse_totp(d.pop("totp", UNSET))

        login_request = cls(
            identifier=identifier,
            password=password,
            totp=totp,
        )

        return login_request
