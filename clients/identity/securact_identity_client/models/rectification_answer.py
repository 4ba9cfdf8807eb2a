from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..models.rectification_outcome import RectificationOutcome
from ..types import UNSET, Unset

T = TypeVar("T", bound="RectificationAnswer")


@_attrs_define
class RectificationAnswer:
    """
    Attributes:
        outcome (RectificationOutcome): An operator's answer to a rectification request (GDPR art. 16).
        reason (str | Unset):  Default: ''.
    """

    outcome: RectificationOutcome
    reason: str | Unset = ""

    def to_dict(self) -> dict[str, Any]:
        outcome = self.outcome.value

        reason = self.reason

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "outcome": outcome,
            }
        )
        if reason is not UNSET:
            field_dict["reason"] = reason

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        outcome = RectificationOutcome(d.pop("outcome"))

        reason = d.pop("reason", UNSET)

        rectification_answer = cls(
            outcome=outcome,
            reason=reason,
        )

        return rectification_answer
