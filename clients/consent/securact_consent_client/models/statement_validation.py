from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="StatementValidation")


@_attrs_define
class StatementValidation:
    """
    Attributes:
        content_hash (str): the `content_hash` of the statement shown
    """

    content_hash: str

    def to_dict(self) -> dict[str, Any]:
        content_hash = self.content_hash

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "content_hash": content_hash,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        content_hash = d.pop("content_hash")

        statement_validation = cls(
            content_hash=content_hash,
        )

        return statement_validation
