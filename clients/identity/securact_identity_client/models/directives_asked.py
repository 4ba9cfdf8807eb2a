from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.post_mortem_erasure import PostMortemErasure
from ..types import UNSET, Unset

T = TypeVar("T", bound="DirectivesAsked")


@_attrs_define
class DirectivesAsked:
    """
    Attributes:
        erasure (PostMortemErasure): What the holder directed for their data after their death (loi 78-17 art. 85).
        designated_name (None | str | Unset):
        designated_email (None | str | Unset): the person informed of the death (with designated_name)
    """

    erasure: PostMortemErasure
    designated_name: None | str | Unset = UNSET
    designated_email: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        erasure = self.erasure.value

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

        field_dict.update(
            {
                "erasure": erasure,
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
        erasure = PostMortemErasure(d.pop("erasure"))

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

        directives_asked = cls(
            erasure=erasure,
            designated_name=designated_name,
            designated_email=designated_email,
        )

        return directives_asked
