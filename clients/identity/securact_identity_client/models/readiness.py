from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="Readiness")


@_attrs_define
class Readiness:
    """Every dependency answers (`store`, `broker`, `objects` where the service keeps some).

    Attributes:
        status (str):
        service (str):
        store (bool):
        broker (bool):
        objects (bool | None | Unset):
    """

    status: str
    service: str
    store: bool
    broker: bool
    objects: bool | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        status = self.status

        service = self.service

        store = self.store

        broker = self.broker

        objects: bool | None | Unset
        if isinstance(self.objects, Unset):
            objects = UNSET
        else:
            objects = self.objects

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "status": status,
                "service": service,
                "store": store,
                "broker": broker,
            }
        )
        if objects is not UNSET:
            field_dict["objects"] = objects

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        status = d.pop("status")

        service = d.pop("service")

        store = d.pop("store")

        broker = d.pop("broker")

        def _parse_objects(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        objects = _parse_objects(d.pop("objects", UNSET))

        readiness = cls(
            status=status,
            service=service,
            store=store,
            broker=broker,
            objects=objects,
        )

        readiness.additional_properties = d
        return readiness

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
