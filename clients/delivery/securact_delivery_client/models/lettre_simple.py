from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

T = TypeVar("T", bound="LettreSimple")


@_attrs_define
class LettreSimple:
    """The CPC 662-1 lettre simple as the serving office declared it posted.

    Attributes:
        posted_on (datetime.date):
        tracking_reference (None | str):
        recorded_at (str):
    """

    posted_on: datetime.date
    tracking_reference: None | str
    recorded_at: str

    def to_dict(self) -> dict[str, Any]:
        posted_on = self.posted_on.isoformat()

        tracking_reference: None | str
        tracking_reference = self.tracking_reference

        recorded_at = self.recorded_at

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "posted_on": posted_on,
                "tracking_reference": tracking_reference,
                "recorded_at": recorded_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        posted_on = datetime.date.fromisoformat(d.pop("posted_on"))

        def _parse_tracking_reference(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        tracking_reference = _parse_tracking_reference(d.pop("tracking_reference"))

        recorded_at = d.pop("recorded_at")

        lettre_simple = cls(
            posted_on=posted_on,
            tracking_reference=tracking_reference,
            recorded_at=recorded_at,
        )

        return lettre_simple
