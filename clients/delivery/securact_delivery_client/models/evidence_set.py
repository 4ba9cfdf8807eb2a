from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.evidence_record import EvidenceRecord
    from ..models.signature import Signature


T = TypeVar("T", bound="EvidenceSet")


@_attrs_define
class EvidenceSet:
    """The act's records in time order, signed as one set (`securact-delivery
    verify-evidence` checks it offline).

        Attributes:
            format_ (str):
            act_id (str):
            act_sha256 (str):
            generated_at (str):
            evidence (list[EvidenceRecord]):
            signature (Signature):
    """

    format_: str
    act_id: str
    act_sha256: str
    generated_at: str
    evidence: list[EvidenceRecord]
    signature: Signature
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        format_ = self.format_

        act_id = self.act_id

        act_sha256 = self.act_sha256

        generated_at = self.generated_at

        evidence = []
        for evidence_item_data in self.evidence:
            evidence_item = evidence_item_data.to_dict()
            evidence.append(evidence_item)

        signature = self.signature.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "format": format_,
                "act_id": act_id,
                "act_sha256": act_sha256,
                "generated_at": generated_at,
                "evidence": evidence,
                "signature": signature,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.evidence_record import EvidenceRecord  # noqa: PLC0415
        from ..models.signature import Signature  # noqa: PLC0415

        d = dict(src_dict)
        format_ = d.pop("format")

        act_id = d.pop("act_id")

        act_sha256 = d.pop("act_sha256")

        generated_at = d.pop("generated_at")

        evidence = []
        _evidence = d.pop("evidence")
        for evidence_item_data in _evidence:
            evidence_item = EvidenceRecord.from_dict(evidence_item_data)

            evidence.append(evidence_item)

        signature = Signature.from_dict(d.pop("signature"))

        evidence_set = cls(
            format_=format_,
            act_id=act_id,
            act_sha256=act_sha256,
            generated_at=generated_at,
            evidence=evidence,
            signature=signature,
        )

        evidence_set.additional_properties = d
        return evidence_set

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
