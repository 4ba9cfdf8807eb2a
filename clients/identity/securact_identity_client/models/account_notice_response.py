from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="AccountNoticeResponse")


@_attrs_define
class AccountNoticeResponse:
    """
    Attributes:
        version (int):
        status (str): issued, presented (deemed received) or failed
        presented_at (datetime.datetime | None): first presentation (relay acceptance)
        deemed_received_on (datetime.date | None): CGU §16: first jour ouvré after it
        binds_from (datetime.datetime | None): the version binds this account from this instant (24:00 of the day one
            month after the deemed receipt, CPC 641/642); null while not deemed received
    """

    version: int
    status: str
    presented_at: datetime.datetime | None
    deemed_received_on: datetime.date | None
    binds_from: datetime.datetime | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        version = self.version

        status = self.status

        presented_at: None | str
        if isinstance(self.presented_at, datetime.datetime):
            presented_at = self.presented_at.isoformat()
        else:
            presented_at = self.presented_at

        deemed_received_on: None | str
        if isinstance(self.deemed_received_on, datetime.date):
            deemed_received_on = self.deemed_received_on.isoformat()
        else:
            deemed_received_on = self.deemed_received_on

        binds_from: None | str
        if isinstance(self.binds_from, datetime.datetime):
            binds_from = self.binds_from.isoformat()
        else:
            binds_from = self.binds_from

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "version": version,
                "status": status,
                "presented_at": presented_at,
                "deemed_received_on": deemed_received_on,
                "binds_from": binds_from,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        version = d.pop("version")

        status = d.pop("status")

        def _parse_presented_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                presented_at_type_0 = datetime.datetime.fromisoformat(data)

                return presented_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        presented_at = _parse_presented_at(d.pop("presented_at"))

        def _parse_deemed_received_on(data: object) -> datetime.date | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                deemed_received_on_type_0 = datetime.date.fromisoformat(data)

                return deemed_received_on_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.date | None, data)

        deemed_received_on = _parse_deemed_received_on(d.pop("deemed_received_on"))

        def _parse_binds_from(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                binds_from_type_0 = datetime.datetime.fromisoformat(data)

                return binds_from_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        binds_from = _parse_binds_from(d.pop("binds_from"))

        account_notice_response = cls(
            version=version,
            status=status,
            presented_at=presented_at,
            deemed_received_on=deemed_received_on,
            binds_from=binds_from,
        )

        account_notice_response.additional_properties = d
        return account_notice_response

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
