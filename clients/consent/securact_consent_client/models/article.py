from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="Article")


@_attrs_define
class Article:
    """
    Attributes:
        article (str):
        text (str):
        complete (bool):
    """

    article: str
    text: str
    complete: bool

    def to_dict(self) -> dict[str, Any]:
        article = self.article

        text = self.text

        complete = self.complete

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "article": article,
                "text": text,
                "complete": complete,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        article = d.pop("article")

        text = d.pop("text")

        complete = d.pop("complete")

        article = cls(
            article=article,
            text=text,
            complete=complete,
        )

        return article
