from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="LettreSimpleView")


@_attrs_define
class LettreSimpleView:
    """
    Attributes:
        act_id (str):
        posted_on (datetime.date):
        tracking_reference (None | str):
        due_on (datetime.date):
        on_time (bool):
        recorded_at (str):
    """

    act_id: str
    posted_on: datetime.date
    tracking_reference: None | str
    due_on: datetime.date
    on_time: bool
    recorded_at: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        act_id = self.act_id

        posted_on = self.posted_on.isoformat()

        tracking_reference: None | str
        tracking_reference = self.tracking_reference

        due_on = self.due_on.isoformat()

        on_time = self.on_time

        recorded_at = self.recorded_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "act_id": act_id,
                "posted_on": posted_on,
                "tracking_reference": tracking_reference,
                "due_on": due_on,
                "on_time": on_time,
                "recorded_at": recorded_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        act_id = d.pop("act_id")

        posted_on = datetime.date.fromisoformat(d.pop("posted_on"))

        def _parse_tracking_reference(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        tracking_reference = _parse_tracking_reference(d.pop("tracking_reference"))

        due_on = datetime.date.fromisoformat(d.pop("due_on"))

        on_time = d.pop("on_time")

        recorded_at = d.pop("recorded_at")

        lettre_simple_view = cls(
            act_id=act_id,
            posted_on=posted_on,
            tracking_reference=tracking_reference,
            due_on=due_on,
            on_time=on_time,
            recorded_at=recorded_at,
        )

        lettre_simple_view.additional_properties = d
        return lettre_simple_view

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
