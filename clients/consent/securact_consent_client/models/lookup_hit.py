from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.act_nature import ActNature
from ..models.declaration_status import DeclarationStatus
from ..models.territory import Territory
from ..types import UNSET, Unset

T = TypeVar("T", bound="LookupHit")


@_attrs_define
class LookupHit:
    """What serving needs, nothing more.

    Attributes:
        declaration_id (str):
        status (DeclarationStatus): Lifecycle of a declaration: `registered` → `active` (CGU accepted) → `revoked` /
            `expired` / `terminated`; `registered` → `refused` (CGU refused) / `expired` /
            `terminated` / `revoked`.
        scope (list[ActNature]):
        valid_until (datetime.date | None):
        territory (Territory):
        found (bool | Unset):  Default: True.
        domicile_changed_at (None | str | Unset): when the person last declared a new domicile (the territory since)
    """

    declaration_id: str
    status: DeclarationStatus
    scope: list[ActNature]
    valid_until: datetime.date | None
    territory: Territory
    found: bool | Unset = True
    domicile_changed_at: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        declaration_id = self.declaration_id

        status = self.status.value

        scope = []
        for scope_item_data in self.scope:
            scope_item = scope_item_data.value
            scope.append(scope_item)

        valid_until: None | str
        if isinstance(self.valid_until, datetime.date):
            valid_until = self.valid_until.isoformat()
        else:
            valid_until = self.valid_until

        territory = self.territory.value

        found = self.found

        domicile_changed_at: None | str | Unset
        if isinstance(self.domicile_changed_at, Unset):
            domicile_changed_at = UNSET
        else:
            domicile_changed_at = self.domicile_changed_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "declaration_id": declaration_id,
                "status": status,
                "scope": scope,
                "valid_until": valid_until,
                "territory": territory,
            }
        )
        if found is not UNSET:
            field_dict["found"] = found
        if domicile_changed_at is not UNSET:
            field_dict["domicile_changed_at"] = domicile_changed_at

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        declaration_id = d.pop("declaration_id")

        status = DeclarationStatus(d.pop("status"))

        scope = []
        _scope = d.pop("scope")
        for scope_item_data in _scope:
            scope_item = ActNature(scope_item_data)

            scope.append(scope_item)

        def _parse_valid_until(data: object) -> datetime.date | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                valid_until_type_0 = datetime.date.fromisoformat(data)

                return valid_until_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.date | None, data)

        valid_until = _parse_valid_until(d.pop("valid_until"))

        territory = Territory(d.pop("territory"))

        found = d.pop("found", UNSET)

        def _parse_domicile_changed_at(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        domicile_changed_at = _parse_domicile_changed_at(d.pop("domicile_changed_at", UNSET))

        lookup_hit = cls(
            declaration_id=declaration_id,
            status=status,
            scope=scope,
            valid_until=valid_until,
            territory=territory,
            found=found,
            domicile_changed_at=domicile_changed_at,
        )

        lookup_hit.additional_properties = d
        return lookup_hit

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
