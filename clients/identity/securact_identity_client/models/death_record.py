from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.post_mortem_erasure import PostMortemErasure

T = TypeVar("T", bound="DeathRecord")


@_attrs_define
class DeathRecord:
    """What the operator recorded, and how the directives were applied.

    Attributes:
        account_id (str):
        died_on (datetime.date):
        justification (str):
        recorded_at (datetime.datetime):
        erasure (PostMortemErasure): What the holder directed for their data after their death (loi 78-17 art. 85).
        designated_person_informed (bool):
    """

    account_id: str
    died_on: datetime.date
    justification: str
    recorded_at: datetime.datetime
    erasure: PostMortemErasure
    designated_person_informed: bool
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        account_id = self.account_id

        died_on = self.died_on.isoformat()

        justification = self.justification

        recorded_at = self.recorded_at.isoformat()

        erasure = self.erasure.value

        designated_person_informed = self.designated_person_informed

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "account_id": account_id,
                "died_on": died_on,
                "justification": justification,
                "recorded_at": recorded_at,
                "erasure": erasure,
                "designated_person_informed": designated_person_informed,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        account_id = d.pop("account_id")

        died_on = datetime.date.fromisoformat(d.pop("died_on"))

        justification = d.pop("justification")

        recorded_at = datetime.datetime.fromisoformat(d.pop("recorded_at"))

        erasure = PostMortemErasure(d.pop("erasure"))

        designated_person_informed = d.pop("designated_person_informed")

        death_record = cls(
            account_id=account_id,
            died_on=died_on,
            justification=justification,
            recorded_at=recorded_at,
            erasure=erasure,
            designated_person_informed=designated_person_informed,
        )

        death_record.additional_properties = d
        return death_record

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
