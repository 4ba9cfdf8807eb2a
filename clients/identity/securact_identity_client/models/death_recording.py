from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="DeathRecording")


@_attrs_define
class DeathRecording:
    """
    Attributes:
        died_on (datetime.date):
        justification (str): the reference of the document that proves the death (no names)
    """

    died_on: datetime.date
    justification: str

    def to_dict(self) -> dict[str, Any]:
        died_on = self.died_on.isoformat()

        justification = self.justification

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "died_on": died_on,
                "justification": justification,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        died_on = datetime.date.fromisoformat(d.pop("died_on"))

        justification = d.pop("justification")

        death_recording = cls(
            died_on=died_on,
            justification=justification,
        )

        return death_recording
