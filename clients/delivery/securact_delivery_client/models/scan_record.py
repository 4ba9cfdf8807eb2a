from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="ScanRecord")


@_attrs_define
class ScanRecord:
    """Whether (and by whom) a kept reply was scanned: `not_scanned` by `none` without one.

    Attributes:
        outcome (str):
        scanner (str):
    """

    outcome: str
    scanner: str

    def to_dict(self) -> dict[str, Any]:
        outcome = self.outcome

        scanner = self.scanner

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "outcome": outcome,
                "scanner": scanner,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        outcome = d.pop("outcome")

        scanner = d.pop("scanner")

        scan_record = cls(
            outcome=outcome,
            scanner=scanner,
        )

        return scan_record
