from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="StatsView")


@_attrs_define
class StatsView:
    """This process's counters since it started.

    Attributes:
        appended (int):
        duplicates (int):
        gaps_detected (int):
        late_arrivals (int):
        repeated_sequences (int):
        checkpoints_signed (int):
        checkpoints_refused (int):
    """

    appended: int
    duplicates: int
    gaps_detected: int
    late_arrivals: int
    repeated_sequences: int
    checkpoints_signed: int
    checkpoints_refused: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        appended = self.appended

        duplicates = self.duplicates

        gaps_detected = self.gaps_detected

        late_arrivals = self.late_arrivals

        repeated_sequences = self.repeated_sequences

        checkpoints_signed = self.checkpoints_signed

        checkpoints_refused = self.checkpoints_refused

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "appended": appended,
                "duplicates": duplicates,
                "gaps_detected": gaps_detected,
                "late_arrivals": late_arrivals,
                "repeated_sequences": repeated_sequences,
                "checkpoints_signed": checkpoints_signed,
                "checkpoints_refused": checkpoints_refused,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        appended = d.pop("appended")

        duplicates = d.pop("duplicates")

        gaps_detected = d.pop("gaps_detected")

        late_arrivals = d.pop("late_arrivals")

        repeated_sequences = d.pop("repeated_sequences")

        checkpoints_signed = d.pop("checkpoints_signed")

        checkpoints_refused = d.pop("checkpoints_refused")

        stats_view = cls(
            appended=appended,
            duplicates=duplicates,
            gaps_detected=gaps_detected,
            late_arrivals=late_arrivals,
            repeated_sequences=repeated_sequences,
            checkpoints_signed=checkpoints_signed,
            checkpoints_refused=checkpoints_refused,
        )

        stats_view.additional_properties = d
        return stats_view

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
