from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="RevocationRequest")


@_attrs_define
class RevocationRequest:
    """
    Attributes:
        confirmation (bool): must be true: the person confirms the revocation
    """

    confirmation: bool

    def to_dict(self) -> dict[str, Any]:
        confirmation = self.confirmation

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "confirmation": confirmation,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        confirmation = d.pop("confirmation")

        revocation_request = cls(
            confirmation=confirmation,
        )

        return revocation_request
