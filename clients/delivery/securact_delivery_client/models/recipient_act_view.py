from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.act_nature import ActNature
from ..models.act_status import ActStatus
from ..models.service_quality import ServiceQuality
from ..models.territory import Territory

T = TypeVar("T", bound="RecipientActView")


@_attrs_define
class RecipientActView:
    """
    Attributes:
        id (str):
        status (ActStatus):
        nature (ActNature): Natures of acts a consent may cover (its scope); delivery checks an act's nature
            against it.
        title (str):
        requester_name (str):
        office_name (str):
        served_at (None | str):
        legal_local_time (None | str):
        recipient_territory (Territory):
        read (bool):
        handed_over_at (None | str):
        quality (None | ServiceQuality):
        size (int):
        sha256 (str):
    """

    id: str
    status: ActStatus
    nature: ActNature
    title: str
    requester_name: str
    office_name: str
    served_at: None | str
    legal_local_time: None | str
    recipient_territory: Territory
    read: bool
    handed_over_at: None | str
    quality: None | ServiceQuality
    size: int
    sha256: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        status = self.status.value

        nature = self.nature.value

        title = self.title

        requester_name = self.requester_name

        office_name = self.office_name

        served_at: None | str
        served_at = self.served_at

        legal_local_time: None | str
        legal_local_time = self.legal_local_time

        recipient_territory = self.recipient_territory.value

        read = self.read

        handed_over_at: None | str
        handed_over_at = self.handed_over_at

        quality: None | str
        if isinstance(self.quality, ServiceQuality):
            quality = self.quality.value
        else:
            quality = self.quality

        size = self.size

        sha256 = self.sha256

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "status": status,
                "nature": nature,
                "title": title,
                "requester_name": requester_name,
                "office_name": office_name,
                "served_at": served_at,
                "legal_local_time": legal_local_time,
                "recipient_territory": recipient_territory,
                "read": read,
                "handed_over_at": handed_over_at,
                "quality": quality,
                "size": size,
                "sha256": sha256,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = d.pop("id")

        status = ActStatus(d.pop("status"))

        nature = ActNature(d.pop("nature"))

        title = d.pop("title")

        requester_name = d.pop("requester_name")

        office_name = d.pop("office_name")

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

        read = d.pop("read")

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

        size = d.pop("size")

        sha256 = d.pop("sha256")

        recipient_act_view = cls(
            id=id,
            status=status,
            nature=nature,
            title=title,
            requester_name=requester_name,
            office_name=office_name,
            served_at=served_at,
            legal_local_time=legal_local_time,
            recipient_territory=recipient_territory,
            read=read,
            handed_over_at=handed_over_at,
            quality=quality,
            size=size,
            sha256=sha256,
        )

        recipient_act_view.additional_properties = d
        return recipient_act_view

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
