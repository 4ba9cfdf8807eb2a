from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="NotificationView")


@_attrs_define
class NotificationView:
    """
    Attributes:
        id (str):
        kind (str):
        channel (str):
        status (str):
        at (str):
        recipient_masked (str):
    """

    id: str
    kind: str
    channel: str
    status: str
    at: str
    recipient_masked: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        kind = self.kind

        channel = self.channel

        status = self.status

        at = self.at

        recipient_masked = self.recipient_masked

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "kind": kind,
                "channel": channel,
                "status": status,
                "at": at,
                "recipient_masked": recipient_masked,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = d.pop("id")

        kind = d.pop("kind")

        channel = d.pop("channel")

        status = d.pop("status")

        at = d.pop("at")

        recipient_masked = d.pop("recipient_masked")

        notification_view = cls(
            id=id,
            kind=kind,
            channel=channel,
            status=status,
            at=at,
            recipient_masked=recipient_masked,
        )

        notification_view.additional_properties = d
        return notification_view

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
