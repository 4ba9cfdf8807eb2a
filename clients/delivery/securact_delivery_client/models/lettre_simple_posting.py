from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="LettreSimplePosting")


@_attrs_define
class LettreSimplePosting:
    """What the office declares of the letter it posted.

    Attributes:
        posted_on (datetime.date):
        tracking_reference (None | str | Unset):
    """

    posted_on: datetime.date
    tracking_reference: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        posted_on = self.posted_on.isoformat()

        tracking_reference: None | str | Unset
        if isinstance(self.tracking_reference, Unset):
            tracking_reference = UNSET
        else:
            tracking_reference = self.tracking_reference

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "posted_on": posted_on,
            }
        )
        if tracking_reference is not UNSET:
            field_dict["tracking_reference"] = tracking_reference

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        posted_on = datetime.date.fromisoformat(d.pop("posted_on"))

        def _parse_tracking_reference(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        tracking_reference = _parse_tracking_reference(d.pop("tracking_reference", UNSET))

        lettre_simple_posting = cls(
            posted_on=posted_on,
            tracking_reference=tracking_reference,
        )

        return lettre_simple_posting
