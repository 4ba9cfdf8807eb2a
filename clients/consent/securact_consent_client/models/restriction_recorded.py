from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.request_state import RequestState
from ..models.restriction_kind import RestrictionKind

T = TypeVar("T", bound="RestrictionRecorded")


@_attrs_define
class RestrictionRecorded:
    """
    Attributes:
        id (str):
        kind (RestrictionKind): GDPR requests a person records for the operator (arts 18 and 21).
        state (RequestState):
    """

    id: str
    kind: RestrictionKind
    state: RequestState
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        kind = self.kind.value

        state = self.state.value

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "kind": kind,
                "state": state,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = d.pop("id")

        kind = RestrictionKind(d.pop("kind"))

        state = RequestState(d.pop("state"))

        restriction_recorded = cls(
            id=id,
            kind=kind,
            state=state,
        )

        restriction_recorded.additional_properties = d
        return restriction_recorded

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
