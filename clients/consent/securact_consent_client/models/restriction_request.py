from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..models.restriction_kind import RestrictionKind

T = TypeVar("T", bound="RestrictionRequest")


@_attrs_define
class RestrictionRequest:
    """
    Attributes:
        kind (RestrictionKind): GDPR requests a person records for the operator (arts 18 and 21).
        text (str):
    """

    kind: RestrictionKind
    text: str

    def to_dict(self) -> dict[str, Any]:
        kind = self.kind.value

        text = self.text

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "kind": kind,
                "text": text,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        kind = RestrictionKind(d.pop("kind"))

        text = d.pop("text")

        restriction_request = cls(
            kind=kind,
            text=text,
        )

        return restriction_request
