from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="TermsNoticeCountsResponse")


@_attrs_define
class TermsNoticeCountsResponse:
    """
    Attributes:
        version (int):
        effective_at (datetime.datetime):
        notified (int): accounts sent a notice of this version
        failed (int): notices notify could not hand over (not bound)
        deemed_received (int): notices presented, hence deemed received
        bound (int): accounts the version binds now
        accepted (int): accounts that accepted this version or a later one
    """

    version: int
    effective_at: datetime.datetime
    notified: int
    failed: int
    deemed_received: int
    bound: int
    accepted: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        version = self.version

        effective_at = self.effective_at.isoformat()

        notified = self.notified

        failed = self.failed

        deemed_received = self.deemed_received

        bound = self.bound

        accepted = self.accepted

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "version": version,
                "effective_at": effective_at,
                "notified": notified,
                "failed": failed,
                "deemed_received": deemed_received,
                "bound": bound,
                "accepted": accepted,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        version = d.pop("version")

        effective_at = datetime.datetime.fromisoformat(d.pop("effective_at"))

        notified = d.pop("notified")

        failed = d.pop("failed")

        deemed_received = d.pop("deemed_received")

        bound = d.pop("bound")

        accepted = d.pop("accepted")

        terms_notice_counts_response = cls(
            version=version,
            effective_at=effective_at,
            notified=notified,
            failed=failed,
            deemed_received=deemed_received,
            bound=bound,
            accepted=accepted,
        )

        terms_notice_counts_response.additional_properties = d
        return terms_notice_counts_response

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
