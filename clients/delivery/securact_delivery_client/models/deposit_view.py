from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.act_status import ActStatus
from ..models.territory import Territory

T = TypeVar("T", bound="DepositView")


@_attrs_define
class DepositView:
    """What `POST /v1/acts` answers (and answers again for the same key and body).

    Attributes:
        id (str):
        status (ActStatus):
        submitted_at (str):
        scheduled_for (None | str):
        served_at (None | str):
        legal_local_time (None | str):
        recipient_territory (Territory):
        sha256 (str):
        size (int):
        judge_leave_used (bool):
    """

    id: str
    status: ActStatus
    submitted_at: str
    scheduled_for: None | str
    served_at: None | str
    legal_local_time: None | str
    recipient_territory: Territory
    sha256: str
    size: int
    judge_leave_used: bool
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        status = self.status.value

        submitted_at = self.submitted_at

        scheduled_for: None | str
        scheduled_for = self.scheduled_for

        served_at: None | str
        served_at = self.served_at

        legal_local_time: None | str
        legal_local_time = self.legal_local_time

        recipient_territory = self.recipient_territory.value

        sha256 = self.sha256

        size = self.size

        judge_leave_used = self.judge_leave_used

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "status": status,
                "submitted_at": submitted_at,
                "scheduled_for": scheduled_for,
                "served_at": served_at,
                "legal_local_time": legal_local_time,
                "recipient_territory": recipient_territory,
                "sha256": sha256,
                "size": size,
                "judge_leave_used": judge_leave_used,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = d.pop("id")

        status = ActStatus(d.pop("status"))

        submitted_at = d.pop("submitted_at")

        def _parse_scheduled_for(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        scheduled_for = _parse_scheduled_for(d.pop("scheduled_for"))

        def _parse_served_at(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        served_at = _parse_served_at(d.pop("served_at"))

        def _parse_legal_local_time(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        legal_local_time = _parse_legal_local_time(d.pop("legal_local_time"))

        recipient_territory = Territory(d.pop("recipient_territory"))

        sha256 = d.pop("sha256")

        size = d.pop("size")

        judge_leave_used = d.pop("judge_leave_used")

        deposit_view = cls(
            id=id,
            status=status,
            submitted_at=submitted_at,
            scheduled_for=scheduled_for,
            served_at=served_at,
            legal_local_time=legal_local_time,
            recipient_territory=recipient_territory,
            sha256=sha256,
            size=size,
            judge_leave_used=judge_leave_used,
        )

        deposit_view.additional_properties = d
        return deposit_view

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
