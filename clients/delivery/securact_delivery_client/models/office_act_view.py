from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.act_nature import ActNature
from ..models.act_status import ActStatus
from ..models.service_quality import ServiceQuality
from ..models.territory import Territory

if TYPE_CHECKING:
    from ..models.consent_end_notice import ConsentEndNotice
    from ..models.judge_leave_view import JudgeLeaveView
    from ..models.lettre_simple import LettreSimple
    from ..models.notification_view import NotificationView
    from ..models.rejection_reason import RejectionReason
    from ..models.reply_ref import ReplyRef


T = TypeVar("T", bound="OfficeActView")


@_attrs_define
class OfficeActView:
    """
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
        declaration_id (str):
        nature (ActNature): Natures of acts a consent may cover (its scope); delivery checks an act's nature
            against it.
        title (str):
        requester_name (str):
        office_reference (str):
        handed_over_at (None | str):
        quality (None | ServiceQuality):
        determined_at (None | str):
        lettre_simple_due_on (datetime.date | None):
        lettre_simple (LettreSimple | None):
        judge_leave (JudgeLeaveView | None):
        rejected_reasons (list[RejectionReason] | None):
        served_after_consent_end (ConsentEndNotice | None):
        updated_at (None | str):
        notifications (list[NotificationView]):
        replies (list[ReplyRef]):
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
    declaration_id: str
    nature: ActNature
    title: str
    requester_name: str
    office_reference: str
    handed_over_at: None | str
    quality: None | ServiceQuality
    determined_at: None | str
    lettre_simple_due_on: datetime.date | None
    lettre_simple: LettreSimple | None
    judge_leave: JudgeLeaveView | None
    rejected_reasons: list[RejectionReason] | None
    served_after_consent_end: ConsentEndNotice | None
    updated_at: None | str
    notifications: list[NotificationView]
    replies: list[ReplyRef]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.consent_end_notice import ConsentEndNotice  # noqa: PLC0415
        from ..models.judge_leave_view import JudgeLeaveView  # noqa: PLC0415
        from ..models.lettre_simple import LettreSimple  # noqa: PLC0415

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

        declaration_id = self.declaration_id

        nature = self.nature.value

        title = self.title

        requester_name = self.requester_name

        office_reference = self.office_reference

        handed_over_at: None | str
        handed_over_at = self.handed_over_at

        quality: None | str
        if isinstance(self.quality, ServiceQuality):
            quality = self.quality.value
        else:
            quality = self.quality

        determined_at: None | str
        determined_at = self.determined_at

        lettre_simple_due_on: None | str
        if isinstance(self.lettre_simple_due_on, datetime.date):
            lettre_simple_due_on = self.lettre_simple_due_on.isoformat()
        else:
            lettre_simple_due_on = self.lettre_simple_due_on

        lettre_simple: dict[str, Any] | None
        if isinstance(self.lettre_simple, LettreSimple):
            lettre_simple = self.lettre_simple.to_dict()
        else:
            lettre_simple = self.lettre_simple

        judge_leave: dict[str, Any] | None
        if isinstance(self.judge_leave, JudgeLeaveView):
            judge_leave = self.judge_leave.to_dict()
        else:
            judge_leave = self.judge_leave

        rejected_reasons: list[dict[str, Any]] | None
        if isinstance(self.rejected_reasons, list):
            rejected_reasons = []
            for rejected_reasons_type_0_item_data in self.rejected_reasons:
                rejected_reasons_type_0_item = rejected_reasons_type_0_item_data.to_dict()
                rejected_reasons.append(rejected_reasons_type_0_item)

        else:
            rejected_reasons = self.rejected_reasons

        served_after_consent_end: dict[str, Any] | None
        if isinstance(self.served_after_consent_end, ConsentEndNotice):
            served_after_consent_end = self.served_after_consent_end.to_dict()
        else:
            served_after_consent_end = self.served_after_consent_end

        updated_at: None | str
        updated_at = self.updated_at

        notifications = []
        for notifications_item_data in self.notifications:
            notifications_item = notifications_item_data.to_dict()
            notifications.append(notifications_item)

        replies = []
        for replies_item_data in self.replies:
            replies_item = replies_item_data.to_dict()
            replies.append(replies_item)

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
                "declaration_id": declaration_id,
                "nature": nature,
                "title": title,
                "requester_name": requester_name,
                "office_reference": office_reference,
                "handed_over_at": handed_over_at,
                "quality": quality,
                "determined_at": determined_at,
                "lettre_simple_due_on": lettre_simple_due_on,
                "lettre_simple": lettre_simple,
                "judge_leave": judge_leave,
                "rejected_reasons": rejected_reasons,
                "served_after_consent_end": served_after_consent_end,
                "updated_at": updated_at,
                "notifications": notifications,
                "replies": replies,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.consent_end_notice import ConsentEndNotice  # noqa: PLC0415
        from ..models.judge_leave_view import JudgeLeaveView  # noqa: PLC0415
        from ..models.lettre_simple import LettreSimple  # noqa: PLC0415
        from ..models.notification_view import NotificationView  # noqa: PLC0415
        from ..models.rejection_reason import RejectionReason  # noqa: PLC0415
        from ..models.reply_ref import ReplyRef  # noqa: PLC0415

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

        declaration_id = d.pop("declaration_id")

        nature = ActNature(d.pop("nature"))

        title = d.pop("title")

        requester_name = d.pop("requester_name")

        office_reference = d.pop("office_reference")

        def _parse_handed_over_at(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        handed_over_at = _parse_handed_over_at(d.pop("handed_over_at"))

        def _parse_quality(data: object) -> None | ServiceQuality:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                quality_type_0 = ServiceQuality(data)

                return quality_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | ServiceQuality, data)

        quality = _parse_quality(d.pop("quality"))

        def _parse_determined_at(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        determined_at = _parse_determined_at(d.pop("determined_at"))

        def _parse_lettre_simple_due_on(data: object) -> datetime.date | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                lettre_simple_due_on_type_0 = datetime.date.fromisoformat(data)

                return lettre_simple_due_on_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.date | None, data)

        lettre_simple_due_on = _parse_lettre_simple_due_on(d.pop("lettre_simple_due_on"))

        def _parse_lettre_simple(data: object) -> LettreSimple | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                lettre_simple_type_0 = LettreSimple.from_dict(data)

                return lettre_simple_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(LettreSimple | None, data)

        lettre_simple = _parse_lettre_simple(d.pop("lettre_simple"))

        def _parse_judge_leave(data: object) -> JudgeLeaveView | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                judge_leave_type_0 = JudgeLeaveView.from_dict(data)

                return judge_leave_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(JudgeLeaveView | None, data)

        judge_leave = _parse_judge_leave(d.pop("judge_leave"))

        def _parse_rejected_reasons(data: object) -> list[RejectionReason] | None:
            if data is None:
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                rejected_reasons_type_0 = []
                _rejected_reasons_type_0 = data
                for rejected_reasons_type_0_item_data in _rejected_reasons_type_0:
                    rejected_reasons_type_0_item = RejectionReason.from_dict(rejected_reasons_type_0_item_data)

                    rejected_reasons_type_0.append(rejected_reasons_type_0_item)

                return rejected_reasons_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[RejectionReason] | None, data)

        rejected_reasons = _parse_rejected_reasons(d.pop("rejected_reasons"))

        def _parse_served_after_consent_end(data: object) -> ConsentEndNotice | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                served_after_consent_end_type_0 = ConsentEndNotice.from_dict(data)

                return served_after_consent_end_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(ConsentEndNotice | None, data)

        served_after_consent_end = _parse_served_after_consent_end(d.pop("served_after_consent_end"))

        def _parse_updated_at(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        updated_at = _parse_updated_at(d.pop("updated_at"))

        notifications = []
        _notifications = d.pop("notifications")
        for notifications_item_data in _notifications:
            notifications_item = NotificationView.from_dict(notifications_item_data)

            notifications.append(notifications_item)

        replies = []
        _replies = d.pop("replies")
        for replies_item_data in _replies:
            replies_item = ReplyRef.from_dict(replies_item_data)

            replies.append(replies_item)

        office_act_view = cls(
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
            declaration_id=declaration_id,
            nature=nature,
            title=title,
            requester_name=requester_name,
            office_reference=office_reference,
            handed_over_at=handed_over_at,
            quality=quality,
            determined_at=determined_at,
            lettre_simple_due_on=lettre_simple_due_on,
            lettre_simple=lettre_simple,
            judge_leave=judge_leave,
            rejected_reasons=rejected_reasons,
            served_after_consent_end=served_after_consent_end,
            updated_at=updated_at,
            notifications=notifications,
            replies=replies,
        )

        office_act_view.additional_properties = d
        return office_act_view

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
