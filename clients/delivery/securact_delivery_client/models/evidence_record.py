from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.evidence_record_actors import EvidenceRecordActors
    from ..models.evidence_record_details import EvidenceRecordDetails
    from ..models.signature import Signature


T = TypeVar("T", bound="EvidenceRecord")


@_attrs_define
class EvidenceRecord:
    """One signed record (its `signature` covers every member but the receipt's three).

    Attributes:
        format_ (str):
        evidence_id (str):
        type_ (str):
        act_id (str):
        act_sha256 (None | str):
        instant (str):
        actors (EvidenceRecordActors):
        details (EvidenceRecordDetails):
        event_id (None | str):
        signature (Signature):
        journal_index (int | None):
        receipt (None | str):
        receipt_reason (None | str):
        checkpoint_timestamp (None | str | Unset): base64 RFC 3161 token of the receipt's checkpoint (its log-signed
            note), once the TSA gave one: `securact-audit verify-receipt --timestamp` checks it
    """

    format_: str
    evidence_id: str
    type_: str
    act_id: str
    act_sha256: None | str
    instant: str
    actors: EvidenceRecordActors
    details: EvidenceRecordDetails
    event_id: None | str
    signature: Signature
    journal_index: int | None
    receipt: None | str
    receipt_reason: None | str
    checkpoint_timestamp: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        format_ = self.format_

        evidence_id = self.evidence_id

        type_ = self.type_

        act_id = self.act_id

        act_sha256: None | str
        act_sha256 = self.act_sha256

        instant = self.instant

        actors = self.actors.to_dict()

        details = self.details.to_dict()

        event_id: None | str
        event_id = self.event_id

        signature = self.signature.to_dict()

        journal_index: int | None
        journal_index = self.journal_index

        receipt: None | str
        receipt = self.receipt

        receipt_reason: None | str
        receipt_reason = self.receipt_reason

        checkpoint_timestamp: None | str | Unset
        if isinstance(self.checkpoint_timestamp, Unset):
            checkpoint_timestamp = UNSET
        else:
            checkpoint_timestamp = self.checkpoint_timestamp

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "format": format_,
                "evidence_id": evidence_id,
                "type": type_,
                "act_id": act_id,
                "act_sha256": act_sha256,
                "instant": instant,
                "actors": actors,
                "details": details,
                "event_id": event_id,
                "signature": signature,
                "journal_index": journal_index,
                "receipt": receipt,
                "receipt_reason": receipt_reason,
            }
        )
        if checkpoint_timestamp is not UNSET:
            field_dict["checkpoint_timestamp"] = checkpoint_timestamp

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.evidence_record_actors import EvidenceRecordActors  # noqa: PLC0415
        from ..models.evidence_record_details import EvidenceRecordDetails  # noqa: PLC0415
        from ..models.signature import Signature  # noqa: PLC0415

        d = dict(src_dict)
        format_ = d.pop("format")

        evidence_id = d.pop("evidence_id")

        type_ = d.pop("type")

        act_id = d.pop("act_id")

        def _parse_act_sha256(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        act_sha256 = _parse_act_sha256(d.pop("act_sha256"))

        instant = d.pop("instant")

        actors = EvidenceRecordActors.from_dict(d.pop("actors"))

        details = EvidenceRecordDetails.from_dict(d.pop("details"))

        def _parse_event_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        event_id = _parse_event_id(d.pop("event_id"))

        signature = Signature.from_dict(d.pop("signature"))

        def _parse_journal_index(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        journal_index = _parse_journal_index(d.pop("journal_index"))

        def _parse_receipt(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        receipt = _parse_receipt(d.pop("receipt"))

        def _parse_receipt_reason(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        receipt_reason = _parse_receipt_reason(d.pop("receipt_reason"))

        def _parse_checkpoint_timestamp(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        checkpoint_timestamp = _parse_checkpoint_timestamp(d.pop("checkpoint_timestamp", UNSET))

        evidence_record = cls(
            format_=format_,
            evidence_id=evidence_id,
            type_=type_,
            act_id=act_id,
            act_sha256=act_sha256,
            instant=instant,
            actors=actors,
            details=details,
            event_id=event_id,
            signature=signature,
            journal_index=journal_index,
            receipt=receipt,
            receipt_reason=receipt_reason,
            checkpoint_timestamp=checkpoint_timestamp,
        )

        evidence_record.additional_properties = d
        return evidence_record

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
