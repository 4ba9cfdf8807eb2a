from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.declaration_status import DeclarationStatus

T = TypeVar("T", bound="ConsentEnd")


@_attrs_define
class ConsentEnd:
    """When and why a consent ended (the instant it was decided: the person's revocation,
    identity's termination or CGU refusal, the end of its duration).

        Attributes:
            at (str):
            reason (DeclarationStatus): Lifecycle of a declaration: `registered` → `active` (CGU accepted) → `revoked` /
                `expired` / `terminated`; `registered` → `refused` (CGU refused) / `expired` /
                `terminated` / `revoked`.
    """

    at: str
    reason: DeclarationStatus
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        at = self.at

        reason = self.reason.value

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "at": at,
                "reason": reason,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        at = d.pop("at")

        reason = DeclarationStatus(d.pop("reason"))

        consent_end = cls(
            at=at,
            reason=reason,
        )

        consent_end.additional_properties = d
        return consent_end

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
