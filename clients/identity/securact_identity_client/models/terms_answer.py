from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="TermsAnswer")


@_attrs_define
class TermsAnswer:
    """
    Attributes:
        version (int | None | Unset): the version read; 409 if another one is now in force
        declaration_hash (None | str | Unset): acceptance only: the content hash of the declaration statement validated
            at consent just before; recorded with the acceptance and its event
    """

    version: int | None | Unset = UNSET
    declaration_hash: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        version: int | None | Unset
        if isinstance(self.version, Unset):
            version = UNSET
        else:
            version = self.version

        declaration_hash: None | str | Unset
        if isinstance(self.declaration_hash, Unset):
            declaration_hash = UNSET
        else:
            declaration_hash = self.declaration_hash

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if version is not UNSET:
            field_dict["version"] = version
        if declaration_hash is not UNSET:
            field_dict["declaration_hash"] = declaration_hash

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_version(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        version = _parse_version(d.pop("version", UNSET))

        def _parse_declaration_hash(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        declaration_hash = _parse_declaration_hash(d.pop("declaration_hash", UNSET))

        terms_answer = cls(
            version=version,
            declaration_hash=declaration_hash,
        )

        return terms_answer
