from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="JudicialClientRegistered")


@_attrs_define
class JudicialClientRegistered:
    """
    Attributes:
        client_id (str):
        client_secret (str): shown once: identity keeps only its hash
        authority_name (str):
        scopes (list[str]):
    """

    client_id: str
    client_secret: str
    authority_name: str
    scopes: list[str]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        client_id = self.client_id

        client_secret = self.client_secret

        authority_name = self.authority_name

        scopes = self.scopes

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "client_id": client_id,
                "client_secret": client_secret,
                "authority_name": authority_name,
                "scopes": scopes,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        client_id = d.pop("client_id")

        client_secret = d.pop("client_secret")

        authority_name = d.pop("authority_name")

        scopes = cast(list[str], d.pop("scopes"))

        judicial_client_registered = cls(
            client_id=client_id,
            client_secret=client_secret,
            authority_name=authority_name,
            scopes=scopes,
        )

        judicial_client_registered.additional_properties = d
        return judicial_client_registered

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
