from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="EvidenceKeys")


@_attrs_define
class EvidenceKeys:
    """
    Attributes:
        keys (list[str]):
        seal_chain (list[str] | Unset):
    """

    keys: list[str]
    seal_chain: list[str] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        keys = self.keys

        seal_chain: list[str] | Unset = UNSET
        if not isinstance(self.seal_chain, Unset):
            seal_chain = self.seal_chain

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "keys": keys,
            }
        )
        if seal_chain is not UNSET:
            field_dict["seal_chain"] = seal_chain

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        keys = cast(list[str], d.pop("keys"))

        seal_chain = cast(list[str], d.pop("seal_chain", UNSET))

        evidence_keys = cls(
            keys=keys,
            seal_chain=seal_chain,
        )

        evidence_keys.additional_properties = d
        return evidence_keys

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
