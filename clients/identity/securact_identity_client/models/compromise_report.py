from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="CompromiseReport")


@_attrs_define
class CompromiseReport:
    """A report as the holder and operators see it.

    Attributes:
        report_id (str):
        account_id (str):
        reported_at (datetime.datetime):
        sessions_revoked (int):
    """

    report_id: str
    account_id: str
    reported_at: datetime.datetime
    sessions_revoked: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        report_id = self.report_id

        account_id = self.account_id

        reported_at = self.reported_at.isoformat()

        sessions_revoked = self.sessions_revoked

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "report_id": report_id,
                "account_id": account_id,
                "reported_at": reported_at,
                "sessions_revoked": sessions_revoked,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        report_id = d.pop("report_id")

        account_id = d.pop("account_id")

        reported_at = datetime.datetime.fromisoformat(d.pop("reported_at"))

        sessions_revoked = d.pop("sessions_revoked")

        compromise_report = cls(
            report_id=report_id,
            account_id=account_id,
            reported_at=reported_at,
            sessions_revoked=sessions_revoked,
        )

        compromise_report.additional_properties = d
        return compromise_report

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
