from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.request_state import RequestState
from ..models.restriction_kind import RestrictionKind
from ..types import UNSET, Unset

T = TypeVar("T", bound="QueuedRestriction")


@_attrs_define
class QueuedRestriction:
    """
    Attributes:
        id (str):
        kind (RestrictionKind): GDPR requests a person records for the operator (arts 18 and 21).
        text (str):
        requested_at (str):
        state (RequestState):
        declaration_id (str):
        reason (None | str | Unset):
        answered_at (None | str | Unset):
    """

    id: str
    kind: RestrictionKind
    text: str
    requested_at: str
    state: RequestState
    declaration_id: str
    reason: None | str | Unset = UNSET
    answered_at: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        kind = self.kind.value

        text = self.text

        requested_at = self.requested_at

        state = self.state.value

        declaration_id = self.declaration_id

        reason: None | str | Unset
        if isinstance(self.reason, Unset):
            reason = UNSET
        else:
            reason = self.reason

        answered_at: None | str | Unset
        if isinstance(self.answered_at, Unset):
            answered_at = UNSET
        else:
            answered_at = self.answered_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "kind": kind,
                "text": text,
                "requested_at": requested_at,
                "state": state,
                "declaration_id": declaration_id,
            }
        )
        if reason is not UNSET:
            field_dict["reason"] = reason
        if answered_at is not UNSET:
            field_dict["answered_at"] = answered_at

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = d.pop("id")

        kind = RestrictionKind(d.pop("kind"))

        text = d.pop("text")

        requested_at = d.pop("requested_at")

        state = RequestState(d.pop("state"))

        declaration_id = d.pop("declaration_id")

        def _parse_reason(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        reason = _parse_reason(d.pop("reason", UNSET))

        def _parse_answered_at(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        answered_at = _parse_answered_at(d.pop("answered_at", UNSET))

        queued_restriction = cls(
            id=id,
            kind=kind,
            text=text,
            requested_at=requested_at,
            state=state,
            declaration_id=declaration_id,
            reason=reason,
            answered_at=answered_at,
        )

        queued_restriction.additional_properties = d
        return queued_restriction

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
