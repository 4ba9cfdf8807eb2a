from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.post_mortem_erasure import PostMortemErasure
from ..types import UNSET, Unset

T = TypeVar("T", bound="PostMortemDirectives")


@_attrs_define
class PostMortemDirectives:
    """The holder's directives as they last recorded them.

    Attributes:
        account_id (str):
        erasure (PostMortemErasure): What the holder directed for their data after their death (loi 78-17 art. 85).
        recorded_at (datetime.datetime):
        changed_at (datetime.datetime):
        designated_name (None | str | Unset):
        designated_email (None | str | Unset):
    """

    account_id: str
    erasure: PostMortemErasure
    recorded_at: datetime.datetime
    changed_at: datetime.datetime
    designated_name: None | str | Unset = UNSET
    designated_email: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        account_id = self.account_id

        erasure = self.erasure.value

        recorded_at = self.recorded_at.isoformat()

        changed_at = self.changed_at.isoformat()

        designated_name: None | str | Unset
        if isinstance(self.designated_name, Unset):
            designated_name = UNSET
        else:
            designated_name = self.designated_name

        designated_email: None | str | Unset
        if isinstance(self.designated_email, Unset):
            designated_email = UNSET
        else:
            designated_email = self.designated_email

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "account_id": account_id,
                "erasure": erasure,
                "recorded_at": recorded_at,
                "changed_at": changed_at,
            }
        )
        if designated_name is not UNSET:
            field_dict["designated_name"] = designated_name
        if designated_email is not UNSET:
            field_dict["designated_email"] = designated_email

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        account_id = d.pop("account_id")

        erasure = PostMortemErasure(d.pop("erasure"))

        recorded_at = datetime.datetime.fromisoformat(d.pop("recorded_at"))

        changed_at = datetime.datetime.fromisoformat(d.pop("changed_at"))

        def _parse_designated_name(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        designated_name = _parse_designated_name(d.pop("designated_name", UNSET))

        def _parse_designated_email(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        designated_email = _parse_designated_email(d.pop("designated_email", UNSET))

        post_mortem_directives = cls(
            account_id=account_id,
            erasure=erasure,
            recorded_at=recorded_at,
            changed_at=changed_at,
            designated_name=designated_name,
            designated_email=designated_email,
        )

        post_mortem_directives.additional_properties = d
        return post_mortem_directives

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
