from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.act_nature import ActNature
from ..models.territory import Territory

if TYPE_CHECKING:
    from ..models.consent_end import ConsentEnd


T = TypeVar("T", bound="ConsentStatus")


@_attrs_define
class ConsentStatus:
    """What delivery asks at the sending instant (CPC 748-2): whether the consent allows
    serving now, and on what; nothing about the person.

        Attributes:
            declaration_id (str):
            active (bool):
            scope (list[ActNature]):
            valid_until (datetime.date | None):
            territory (Territory):
            ended (ConsentEnd | None): null while the consent has not ended
            as_of (str): the registry's instant of this answer
    """

    declaration_id: str
    active: bool
    scope: list[ActNature]
    valid_until: datetime.date | None
    territory: Territory
    ended: ConsentEnd | None
    as_of: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.consent_end import ConsentEnd  # noqa: PLC0415

        declaration_id = self.declaration_id

        active = self.active

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

        ended: dict[str, Any] | None
        if isinstance(self.ended, ConsentEnd):
            ended = self.ended.to_dict()
        else:
            ended = self.ended

        as_of = self.as_of

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "declaration_id": declaration_id,
                "active": active,
                "scope": scope,
                "valid_until": valid_until,
                "territory": territory,
                "ended": ended,
                "as_of": as_of,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.consent_end import ConsentEnd  # noqa: PLC0415

        d = dict(src_dict)
        declaration_id = d.pop("declaration_id")

        active = d.pop("active")

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

        def _parse_ended(data: object) -> ConsentEnd | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                ended_type_0 = ConsentEnd.from_dict(data)

                return ended_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(ConsentEnd | None, data)

        ended = _parse_ended(d.pop("ended"))

        as_of = d.pop("as_of")

        consent_status = cls(
            declaration_id=declaration_id,
            active=active,
            scope=scope,
            valid_until=valid_until,
            territory=territory,
            ended=ended,
            as_of=as_of,
        )

        consent_status.additional_properties = d
        return consent_status

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
