from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="TermsResponse")


@_attrs_define
class TermsResponse:
    """
    Attributes:
        version (int):
        content_hash (str):
        effective_at (datetime.datetime):
        published_at (datetime.datetime):
        markdown (str):
        html (str):
    """

    version: int
    content_hash: str
    effective_at: datetime.datetime
    published_at: datetime.datetime
    markdown: str
    html: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        version = self.version

        content_hash = self.content_hash

        effective_at = self.effective_at.isoformat()

        published_at = self.published_at.isoformat()

        markdown = self.markdown

        html = self.html

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "version": version,
                "content_hash": content_hash,
                "effective_at": effective_at,
                "published_at": published_at,
                "markdown": markdown,
                "html": html,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        version = d.pop("version")

        content_hash = d.pop("content_hash")

        effective_at = datetime.datetime.fromisoformat(d.pop("effective_at"))

        published_at = datetime.datetime.fromisoformat(d.pop("published_at"))

        markdown = d.pop("markdown")

        html = d.pop("html")

        terms_response = cls(
            version=version,
            content_hash=content_hash,
            effective_at=effective_at,
            published_at=published_at,
            markdown=markdown,
            html=html,
        )

        terms_response.additional_properties = d
        return terms_response

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
