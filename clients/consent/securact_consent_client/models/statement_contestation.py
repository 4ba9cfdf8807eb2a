from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..models.declaration_part import DeclarationPart

T = TypeVar("T", bound="StatementContestation")


@_attrs_define
class StatementContestation:
    """
    Attributes:
        content_hash (str): the `content_hash` of the statement shown
        parts (list[DeclarationPart]): what is wrong
        reason (str): the person's words, for the office
    """

    content_hash: str
    parts: list[DeclarationPart]
    reason: str

    def to_dict(self) -> dict[str, Any]:
        content_hash = self.content_hash

        parts = []
        for parts_item_data in self.parts:
            parts_item = parts_item_data.value
            parts.append(parts_item)

        reason = self.reason

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "content_hash": content_hash,
                "parts": parts,
                "reason": reason,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        content_hash = d.pop("content_hash")

        parts = []
        _parts = d.pop("parts")
        for parts_item_data in _parts:
            parts_item = DeclarationPart(parts_item_data)

            parts.append(parts_item)

        reason = d.pop("reason")

        statement_contestation = cls(
            content_hash=content_hash,
            parts=parts,
            reason=reason,
        )

        return statement_contestation
