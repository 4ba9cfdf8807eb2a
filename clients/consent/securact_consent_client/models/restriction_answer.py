from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..models.restriction_outcome import RestrictionOutcome

T = TypeVar("T", bound="RestrictionAnswer")


@_attrs_define
class RestrictionAnswer:
    """An operator's final answer; the reason is shown to the person.

    Attributes:
        outcome (RestrictionOutcome): An operator's answer to a restriction or objection request.
        reason (str):
    """

    outcome: RestrictionOutcome
    reason: str

    def to_dict(self) -> dict[str, Any]:
        outcome = self.outcome.value

        reason = self.reason

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "outcome": outcome,
                "reason": reason,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        outcome = RestrictionOutcome(d.pop("outcome"))

        reason = d.pop("reason")

        restriction_answer = cls(
            outcome=outcome,
            reason=reason,
        )

        return restriction_answer
