from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..models.link_check_request_purpose import LinkCheckRequestPurpose

T = TypeVar("T", bound="LinkCheckRequest")


@_attrs_define
class LinkCheckRequest:
    """
    Attributes:
        token (str):
        purpose (LinkCheckRequestPurpose):
    """

    token: str
    purpose: LinkCheckRequestPurpose

    def to_dict(self) -> dict[str, Any]:
        token = self.token

        purpose = self.purpose.value

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "token": token,
                "purpose": purpose,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        token = d.pop("token")

        purpose = LinkCheckRequestPurpose(d.pop("purpose"))

        link_check_request = cls(
            token=token,
            purpose=purpose,
        )

        return link_check_request
