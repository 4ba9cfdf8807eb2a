from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="ContactsResponse")


@_attrs_define
class ContactsResponse:
    """
    Attributes:
        email (None | str): where e-mail notices go
        mobile (None | str): where SMS notices go (E.164); null: none
        pending_email (None | str): an address waiting for the confirmation link sent to it
        pending_until (datetime.datetime | None): when that link expires
    """

    email: None | str
    mobile: None | str
    pending_email: None | str
    pending_until: datetime.datetime | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        email: None | str
        email = self.email

        mobile: None | str
        mobile = self.mobile

        pending_email: None | str
        pending_email = self.pending_email

        pending_until: None | str
        if isinstance(self.pending_until, datetime.datetime):
            pending_until = self.pending_until.isoformat()
        else:
            pending_until = self.pending_until

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "email": email,
                "mobile": mobile,
                "pending_email": pending_email,
                "pending_until": pending_until,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_email(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        email = _parse_email(d.pop("email"))

        def _parse_mobile(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        mobile = _parse_mobile(d.pop("mobile"))

        def _parse_pending_email(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        pending_email = _parse_pending_email(d.pop("pending_email"))

        def _parse_pending_until(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                pending_until_type_0 = datetime.datetime.fromisoformat(data)

                return pending_until_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        pending_until = _parse_pending_until(d.pop("pending_until"))

        contacts_response = cls(
            email=email,
            mobile=mobile,
            pending_email=pending_email,
            pending_until=pending_until,
        )

        contacts_response.additional_properties = d
        return contacts_response

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
