from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.document_type import DocumentType
from ..models.media_type import MediaType

T = TypeVar("T", bound="ExportedProof")


@_attrs_define
class ExportedProof:
    """
    Attributes:
        id (str):
        type_ (DocumentType): Identity proofs of the arrêté of 17 Nov 2023.
        issued_on (datetime.date | None):
        media_type (MediaType | None):
        size (int | None):
        sha256 (None | str):
        received_at (str):
        download (str):
    """

    id: str
    type_: DocumentType
    issued_on: datetime.date | None
    media_type: MediaType | None
    size: int | None
    sha256: None | str
    received_at: str
    download: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        type_ = self.type_.value

        issued_on: None | str
        if isinstance(self.issued_on, datetime.date):
            issued_on = self.issued_on.isoformat()
        else:
            issued_on = self.issued_on

        media_type: None | str
        if isinstance(self.media_type, MediaType):
            media_type = self.media_type.value
        else:
            media_type = self.media_type

        size: int | None
        size = self.size

        sha256: None | str
        sha256 = self.sha256

        received_at = self.received_at

        download = self.download

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "type": type_,
                "issued_on": issued_on,
                "media_type": media_type,
                "size": size,
                "sha256": sha256,
                "received_at": received_at,
                "download": download,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = d.pop("id")

        type_ = DocumentType(d.pop("type"))

        def _parse_issued_on(data: object) -> datetime.date | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                issued_on_type_0 = datetime.date.fromisoformat(data)

                return issued_on_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.date | None, data)

        issued_on = _parse_issued_on(d.pop("issued_on"))

        def _parse_media_type(data: object) -> MediaType | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                media_type_type_0 = MediaType(data)

                return media_type_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(MediaType | None, data)

        media_type = _parse_media_type(d.pop("media_type"))

        def _parse_size(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        size = _parse_size(d.pop("size"))

        def _parse_sha256(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        sha256 = _parse_sha256(d.pop("sha256"))

        received_at = d.pop("received_at")

        download = d.pop("download")

        exported_proof = cls(
            id=id,
            type_=type_,
            issued_on=issued_on,
            media_type=media_type,
            size=size,
            sha256=sha256,
            received_at=received_at,
            download=download,
        )

        exported_proof.additional_properties = d
        return exported_proof

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
