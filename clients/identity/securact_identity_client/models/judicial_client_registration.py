from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="JudicialClientRegistration")


@_attrs_define
class JudicialClientRegistration:
    """
    Attributes:
        authority_name (str): e.g. the court
    """

    authority_name: str

    def to_dict(self) -> dict[str, Any]:
        authority_name = self.authority_name

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "authority_name": authority_name,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        authority_name = d.pop("authority_name")

        judicial_client_registration = cls(
            authority_name=authority_name,
        )

        return judicial_client_registration
