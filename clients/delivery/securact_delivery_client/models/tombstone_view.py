from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.act_status import ActStatus
from ..models.service_quality import ServiceQuality

if TYPE_CHECKING:
    from ..models.erased_reply_ref import ErasedReplyRef


T = TypeVar("T", bound="TombstoneView")


@_attrs_define
class TombstoneView:
    """What remains of an erased act: ids, fingerprint, dates and quality.

    Attributes:
        id (str):
        status (ActStatus):
        submitted_at (str):
        served_at (None | str):
        handed_over_at (None | str):
        quality (None | ServiceQuality):
        determined_at (None | str):
        sha256 (str):
        size (int):
        erased_at (str):
        replies (list[ErasedReplyRef]):
        updated_at (None | str):
    """

    id: str
    status: ActStatus
    submitted_at: str
    served_at: None | str
    handed_over_at: None | str
    quality: None | ServiceQuality
    determined_at: None | str
    sha256: str
    size: int
    erased_at: str
    replies: list[ErasedReplyRef]
    updated_at: None | str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        status = self.status.value

        submitted_at = self.submitted_at

        served_at: None | str
        served_at = self.served_at

        handed_over_at: None | str
        handed_over_at = self.handed_over_at

        quality: None | str
        if isinstance(self.quality, ServiceQuality):
            quality = self.quality.value
        else:
            quality = self.quality

        determined_at: None | str
        determined_at = self.determined_at

        sha256 = self.sha256

        size = self.size

        erased_at = self.erased_at

        replies = []
        for replies_item_data in self.replies:
            replies_item = replies_item_data.to_dict()
            replies.append(replies_item)

        updated_at: None | str
        updated_at = self.updated_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "status": status,
                "submitted_at": submitted_at,
                "served_at": served_at,
                "handed_over_at": handed_over_at,
                "quality": quality,
                "determined_at": determined_at,
                "sha256": sha256,
                "size": size,
                "erased_at": erased_at,
                "replies": replies,
                "updated_at": updated_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.erased_reply_ref import ErasedReplyRef  # noqa: PLC0415

        d = dict(src_dict)
        id = d.pop("id")

        status = ActStatus(d.pop("status"))

        submitted_at = d.pop("submitted_at")

        def _parse_served_at(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        served_at = _parse_served_at(d.pop("served_at"))

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

        sha256 = d.pop("sha256")

        size = d.pop("size")

        erased_at = d.pop("erased_at")

        replies = []
        _replies = d.pop("replies")
        for replies_item_data in _replies:
            replies_item = ErasedReplyRef.from_dict(replies_item_data)

            replies.append(replies_item)

        def _parse_updated_at(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        updated_at = _parse_updated_at(d.pop("updated_at"))

        tombstone_view = cls(
            id=id,
            status=status,
            submitted_at=submitted_at,
            served_at=served_at,
            handed_over_at=handed_over_at,
            quality=quality,
            determined_at=determined_at,
            sha256=sha256,
            size=size,
            erased_at=erased_at,
            replies=replies,
            updated_at=updated_at,
        )

        tombstone_view.additional_properties = d
        return tombstone_view

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
