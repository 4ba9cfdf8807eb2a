from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="ClientDescription")


@_attrs_define
class ClientDescription:
    """
    Attributes:
        client_id (str):
        kind (str): office or judicial_authority
        office_id (None | str):
        bailiff_name (str):
        scopes (list[str]):
        disabled (bool):
        created_at (None | str):
        disabled_at (None | str):
        secret_rotated_at (None | str):
    """

    client_id: str
    kind: str
    office_id: None | str
    bailiff_name: str
    scopes: list[str]
    disabled: bool
    created_at: None | str
    disabled_at: None | str
    secret_rotated_at: None | str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        client_id = self.client_id

        kind = self.kind

        office_id: None | str
        office_id = self.office_id

        bailiff_name = self.bailiff_name

        scopes = self.scopes

        disabled = self.disabled

        created_at: None | str
        created_at = self.created_at

        disabled_at: None | str
        disabled_at = self.disabled_at

        secret_rotated_at: None | str
        secret_rotated_at = self.secret_rotated_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "client_id": client_id,
                "kind": kind,
                "office_id": office_id,
                "bailiff_name": bailiff_name,
                "scopes": scopes,
                "disabled": disabled,
                "created_at": created_at,
                "disabled_at": disabled_at,
                "secret_rotated_at": secret_rotated_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        client_id = d.pop("client_id")

        kind = d.pop("kind")

        def _parse_office_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        office_id = _parse_office_id(d.pop("office_id"))

        bailiff_name = d.pop("bailiff_name")

        scopes = cast(list[str], d.pop("scopes"))

        disabled = d.pop("disabled")

        def _parse_created_at(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        created_at = _parse_created_at(d.pop("created_at"))

        def _parse_disabled_at(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        disabled_at = _parse_disabled_at(d.pop("disabled_at"))

        def _parse_secret_rotated_at(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        secret_rotated_at = _parse_secret_rotated_at(d.pop("secret_rotated_at"))

        client_description = cls(
            client_id=client_id,
            kind=kind,
            office_id=office_id,
            bailiff_name=bailiff_name,
            scopes=scopes,
            disabled=disabled,
            created_at=created_at,
            disabled_at=disabled_at,
            secret_rotated_at=secret_rotated_at,
        )

        client_description.additional_properties = d
        return client_description

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
