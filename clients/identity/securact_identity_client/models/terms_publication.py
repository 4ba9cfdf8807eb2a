from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="TermsPublication")


@_attrs_define
class TermsPublication:
    """
    Attributes:
        markdown (str):
        effective_at (datetime.datetime): one month to one year after publication
    """

    markdown: str
    effective_at: datetime.datetime

    def to_dict(self) -> dict[str, Any]:
        markdown = self.markdown

        effective_at = self.effective_at.isoformat()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "markdown": markdown,
                "effective_at": effective_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        markdown = d.pop("markdown")

        effective_at = datetime.datetime.fromisoformat(d.pop("effective_at"))

        terms_publication = cls(
            markdown=markdown,
            effective_at=effective_at,
        )

        return terms_publication
