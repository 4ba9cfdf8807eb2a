from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..models.declaration_status import DeclarationStatus

T = TypeVar("T", bound="HistoryEntry")


@_attrs_define
class HistoryEntry:
    """
    Attributes:
        status (DeclarationStatus): Lifecycle of a declaration: `registered` → `active` (CGU accepted) → `revoked` /
            `expired` / `terminated`; `registered` → `refused` (CGU refused) / `expired` /
            `terminated` / `revoked`.
        at (str):
        cause (str):
    """

    status: DeclarationStatus
    at: str
    cause: str

    def to_dict(self) -> dict[str, Any]:
        status = self.status.value

        at = self.at

        cause = self.cause

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "status": status,
                "at": at,
                "cause": cause,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        status = DeclarationStatus(d.pop("status"))

        at = d.pop("at")

        cause = d.pop("cause")

        history_entry = cls(
            status=status,
            at=at,
            cause=cause,
        )

        return history_entry
