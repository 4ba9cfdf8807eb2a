from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.contact_kind import ContactKind
from ..models.territory import Territory
from ..types import UNSET, Unset

T = TypeVar("T", bound="ContactChange")


@_attrs_define
class ContactChange:
    """One change of the person's contacts or domicile, as offices read it from then on: what
    changed and when (the new values are the declaration's own); a domicile change names the
    territory it moved to and its proof.

        Attributes:
            kind (ContactKind):
            at (str):
            territory (None | Territory | Unset):
            proof_id (None | str | Unset):
    """

    kind: ContactKind
    at: str
    territory: None | Territory | Unset = UNSET
    proof_id: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        kind = self.kind.value

        at = self.at

        territory: None | str | Unset
        if isinstance(self.territory, Unset):
            territory = UNSET
        elif isinstance(self.territory, Territory):
            territory = self.territory.value
        else:
            territory = self.territory

        proof_id: None | str | Unset
        if isinstance(self.proof_id, Unset):
            proof_id = UNSET
        else:
            proof_id = self.proof_id

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "kind": kind,
                "at": at,
            }
        )
        if territory is not UNSET:
            field_dict["territory"] = territory
        if proof_id is not UNSET:
            field_dict["proof_id"] = proof_id

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        kind = ContactKind(d.pop("kind"))

        at = d.pop("at")

        def _parse_territory(data: object) -> None | Territory | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                territory_type_0 = Territory(data)

                return territory_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Territory | Unset, data)

        territory = _parse_territory(d.pop("territory", UNSET))

        def _parse_proof_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        proof_id = _parse_proof_id(d.pop("proof_id", UNSET))

        contact_change = cls(
            kind=kind,
            at=at,
            territory=territory,
            proof_id=proof_id,
        )

        return contact_change
