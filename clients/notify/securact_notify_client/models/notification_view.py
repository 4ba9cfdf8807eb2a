from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.channel import Channel
from ..models.notification_kind import NotificationKind
from ..models.state import State

T = TypeVar("T", bound="NotificationView")


@_attrs_define
class NotificationView:
    """A history entry: what happened to one message, without its address or content.

    Attributes:
        notification_id (str):
        kind (NotificationKind):
        channel (Channel):
        recipient (str):
        recipient_masked (str):
        state (State):
        attempts (int):
        message_id (str):
        source_event_id (str):
        source_type (str):
        created_at (str):
        accepted_at (None | str):
        failed_at (None | str):
        reason (None | str):
        permanent (bool | None):
        deemed_received_on (datetime.date | None):
        resent_after_crash (int):
        contact_purged_at (None | str):
        act_id (None | str):
        office_id (None | str):
    """

    notification_id: str
    kind: NotificationKind
    channel: Channel
    recipient: str
    recipient_masked: str
    state: State
    attempts: int
    message_id: str
    source_event_id: str
    source_type: str
    created_at: str
    accepted_at: None | str
    failed_at: None | str
    reason: None | str
    permanent: bool | None
    deemed_received_on: datetime.date | None
    resent_after_crash: int
    contact_purged_at: None | str
    act_id: None | str
    office_id: None | str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        notification_id = self.notification_id

        kind = self.kind.value

        channel = self.channel.value

        recipient = self.recipient

        recipient_masked = self.recipient_masked

        state = self.state.value

        attempts = self.attempts

        message_id = self.message_id

        source_event_id = self.source_event_id

        source_type = self.source_type

        created_at = self.created_at

        accepted_at: None | str
        accepted_at = self.accepted_at

        failed_at: None | str
        failed_at = self.failed_at

        reason: None | str
        reason = self.reason

        permanent: bool | None
        permanent = self.permanent

        deemed_received_on: None | str
        if isinstance(self.deemed_received_on, datetime.date):
            deemed_received_on = self.deemed_received_on.isoformat()
        else:
            deemed_received_on = self.deemed_received_on

        resent_after_crash = self.resent_after_crash

        contact_purged_at: None | str
        contact_purged_at = self.contact_purged_at

        act_id: None | str
        act_id = self.act_id

        office_id: None | str
        office_id = self.office_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "notification_id": notification_id,
                "kind": kind,
                "channel": channel,
                "recipient": recipient,
                "recipient_masked": recipient_masked,
                "state": state,
                "attempts": attempts,
                "message_id": message_id,
                "source_event_id": source_event_id,
                "source_type": source_type,
                "created_at": created_at,
                "accepted_at": accepted_at,
                "failed_at": failed_at,
                "reason": reason,
                "permanent": permanent,
                "deemed_received_on": deemed_received_on,
                "resent_after_crash": resent_after_crash,
                "contact_purged_at": contact_purged_at,
                "act_id": act_id,
                "office_id": office_id,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        notification_id = d.pop("notification_id")

        kind = NotificationKind(d.pop("kind"))

        channel = Channel(d.pop("channel"))

        recipient = d.pop("recipient")

        recipient_masked = d.pop("recipient_masked")

        state = State(d.pop("state"))

        attempts = d.pop("attempts")

        message_id = d.pop("message_id")

        source_event_id = d.pop("source_event_id")

        source_type = d.pop("source_type")

        created_at = d.pop("created_at")

        def _parse_accepted_at(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        accepted_at = _parse_accepted_at(d.pop("accepted_at"))

        def _parse_failed_at(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        failed_at = _parse_failed_at(d.pop("failed_at"))

        def _parse_reason(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        reason = _parse_reason(d.pop("reason"))

        def _parse_permanent(data: object) -> bool | None:
            if data is None:
                return data
            return cast(bool | None, data)

        permanent = _parse_permanent(d.pop("permanent"))

        def _parse_deemed_received_on(data: object) -> datetime.date | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                deemed_received_on_type_0 = datetime.date.fromisoformat(data)

                return deemed_received_on_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.date | None, data)

        deemed_received_on = _parse_deemed_received_on(d.pop("deemed_received_on"))

        resent_after_crash = d.pop("resent_after_crash")

        def _parse_contact_purged_at(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        contact_purged_at = _parse_contact_purged_at(d.pop("contact_purged_at"))

        def _parse_act_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        act_id = _parse_act_id(d.pop("act_id"))

        def _parse_office_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        office_id = _parse_office_id(d.pop("office_id"))

        notification_view = cls(
            notification_id=notification_id,
            kind=kind,
            channel=channel,
            recipient=recipient,
            recipient_masked=recipient_masked,
            state=state,
            attempts=attempts,
            message_id=message_id,
            source_event_id=source_event_id,
            source_type=source_type,
            created_at=created_at,
            accepted_at=accepted_at,
            failed_at=failed_at,
            reason=reason,
            permanent=permanent,
            deemed_received_on=deemed_received_on,
            resent_after_crash=resent_after_crash,
            contact_purged_at=contact_purged_at,
            act_id=act_id,
            office_id=office_id,
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
