from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..models.consent_end_reason import ConsentEndReason

T = TypeVar("T", bound="ConsentEndNotice")


@_attrs_define
class ConsentEndNotice:
    """An act served at or after the instant its consent ended, an end learnt later
    (`delivery.reconciliation`): when and why the consent ended, when delivery learnt it.

        Attributes:
            consent_ended_at (str):
            reason (ConsentEndReason): Why a consent ended (the declaration's final status).
            detected_at (str):
    """

    consent_ended_at: str
    reason: ConsentEndReason
    detected_at: str

    def to_dict(self) -> dict[str, Any]:
        consent_ended_at = self.consent_ended_at

        reason = self.reason.value

        detected_at = self.detected_at

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "consent_ended_at": consent_ended_at,
                "reason": reason,
                "detected_at": detected_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        consent_ended_at = d.pop("consent_ended_at")

        reason = ConsentEndReason(d.pop("reason"))

        detected_at = d.pop("detected_at")

        consent_end_notice = cls(
            consent_ended_at=consent_ended_at,
            reason=reason,
            detected_at=detected_at,
        )

        return consent_end_notice
