from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.media_type import MediaType

if TYPE_CHECKING:
    from ..models.scan_record import ScanRecord


T = TypeVar("T", bound="ReplyView")


@_attrs_define
class ReplyView:
    """A kept reply as its sender and the act's office see it.

    Attributes:
        id (str):
        act_id (str):
        received_at (str):
        media_type (MediaType):
        filename (None | str):
        size (int):
        sha256 (str):
        scan (ScanRecord): Whether (and by whom) a kept reply was scanned: `not_scanned` by `none` without one.
    """

    id: str
    act_id: str
    received_at: str
    media_type: MediaType
    filename: None | str
    size: int
    sha256: str
    scan: ScanRecord
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        act_id = self.act_id

        received_at = self.received_at

        media_type = self.media_type.value

        filename: None | str
        filename = self.filename

        size = self.size

        sha256 = self.sha256

        scan = self.scan.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "act_id": act_id,
                "received_at": received_at,
                "media_type": media_type,
                "filename": filename,
                "size": size,
                "sha256": sha256,
                "scan": scan,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.scan_record import ScanRecord  # noqa: PLC0415

        d = dict(src_dict)
        id = d.pop("id")

        act_id = d.pop("act_id")

        received_at = d.pop("received_at")

        media_type = MediaType(d.pop("media_type"))

        def _parse_filename(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        filename = _parse_filename(d.pop("filename"))

        size = d.pop("size")

        sha256 = d.pop("sha256")

        scan = ScanRecord.from_dict(d.pop("scan"))

        reply_view = cls(
            id=id,
            act_id=act_id,
            received_at=received_at,
            media_type=media_type,
            filename=filename,
            size=size,
            sha256=sha256,
            scan=scan,
        )

        reply_view.additional_properties = d
        return reply_view

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
