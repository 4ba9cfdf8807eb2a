from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..models.declaration_part import DeclarationPart

T = TypeVar("T", bound="Contestation")


@_attrs_define
class Contestation:
    """The person's refusal of the declaration as registered: which parts, in their words.

    Attributes:
        parts (list[DeclarationPart]):
        reason (str):
        content_hash (str):
        at (str):
    """

    parts: list[DeclarationPart]
    reason: str
    content_hash: str
    at: str

    def to_dict(self) -> dict[str, Any]:
        parts = []
        for parts_item_data in self.parts:
            parts_item = parts_item_data.value
            parts.append(parts_item)

        reason = self.reason

        content_hash = self.content_hash

        at = self.at

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "parts": parts,
                "reason": reason,
                "content_hash": content_hash,
                "at": at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        parts = []
        _parts = d.pop("parts")
        for parts_item_data in _parts:
            parts_item = DeclarationPart(parts_item_data)

            parts.append(parts_item)

        reason = d.pop("reason")

        content_hash = d.pop("content_hash")

        at = d.pop("at")

        contestation = cls(
            parts=parts,
            reason=reason,
            content_hash=content_hash,
            at=at,
        )

        return contestation
