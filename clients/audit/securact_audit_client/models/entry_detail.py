from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.payload_state import PayloadState
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.entry_detail_payload import EntryDetailPayload


T = TypeVar("T", bound="EntryDetail")


@_attrs_define
class EntryDetail:
    """An entry, its leaf hash, and why its payload is or is not shown (`payload_state`); the
    payload and the envelope fields kept out of the leaf only when `available`.

        Attributes:
            index (int):
            event_id (str):
            type_ (str):
            schema_version (int):
            producer (str):
            producer_seq (int | None):
            subject (str):
            occurred_at (str):
            journaled_at (str):
            payload_commitment (str):
            leaf_hash (str):
            payload_state (PayloadState):
            payload (EntryDetailPayload | Unset):
            payload_salt (str | Unset):
            actor (str | Unset):
            correlation_id (None | str | Unset):
            causation_id (None | str | Unset):
    """

    index: int
    event_id: str
    type_: str
    schema_version: int
    producer: str
    producer_seq: int | None
    subject: str
    occurred_at: str
    journaled_at: str
    payload_commitment: str
    leaf_hash: str
    payload_state: PayloadState
    payload: EntryDetailPayload | Unset = UNSET
    payload_salt: str | Unset = UNSET
    actor: str | Unset = UNSET
    correlation_id: None | str | Unset = UNSET
    causation_id: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        index = self.index

        event_id = self.event_id

        type_ = self.type_

        schema_version = self.schema_version

        producer = self.producer

        producer_seq: int | None
        producer_seq = self.producer_seq

        subject = self.subject

        occurred_at = self.occurred_at

        journaled_at = self.journaled_at

        payload_commitment = self.payload_commitment

        leaf_hash = self.leaf_hash

        payload_state = self.payload_state.value

        payload: dict[str, Any] | Unset = UNSET
        if not isinstance(self.payload, Unset):
            payload = self.payload.to_dict()

        payload_salt = self.payload_salt

        actor = self.actor

        correlation_id: None | str | Unset
        if isinstance(self.correlation_id, Unset):
            correlation_id = UNSET
        else:
            correlation_id = self.correlation_id

        causation_id: None | str | Unset
        if isinstance(self.causation_id, Unset):
            causation_id = UNSET
        else:
            causation_id = self.causation_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "index": index,
                "event_id": event_id,
                "type": type_,
                "schema_version": schema_version,
                "producer": producer,
                "producer_seq": producer_seq,
                "subject": subject,
                "occurred_at": occurred_at,
                "journaled_at": journaled_at,
                "payload_commitment": payload_commitment,
                "leaf_hash": leaf_hash,
                "payload_state": payload_state,
            }
        )
        if payload is not UNSET:
            field_dict["payload"] = payload
        if payload_salt is not UNSET:
            field_dict["payload_salt"] = payload_salt
        if actor is not UNSET:
            field_dict["actor"] = actor
        if correlation_id is not UNSET:
            field_dict["correlation_id"] = correlation_id
        if causation_id is not UNSET:
            field_dict["causation_id"] = causation_id

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.entry_detail_payload import EntryDetailPayload  # noqa: PLC0415

        d = dict(src_dict)
        index = d.pop("index")

        event_id = d.pop("event_id")

        type_ = d.pop("type")

        schema_version = d.pop("schema_version")

        producer = d.pop("producer")

        def _parse_producer_seq(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        producer_seq = _parse_producer_seq(d.pop("producer_seq"))

        subject = d.pop("subject")

        occurred_at = d.pop("occurred_at")

        journaled_at = d.pop("journaled_at")

        payload_commitment = d.pop("payload_commitment")

        leaf_hash = d.pop("leaf_hash")

        payload_state = PayloadState(d.pop("payload_state"))

        _payload = d.pop("payload", UNSET)
        payload: EntryDetailPayload | Unset
        if isinstance(_payload, Unset):
            payload = UNSET
        else:
            payload = EntryDetailPayload.from_dict(_payload)

        payload_salt = d.pop("payload_salt", UNSET)

        actor = d.pop("actor", UNSET)

        def _parse_correlation_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        correlation_id = _parse_correlation_id(d.pop("correlation_id", UNSET))

        def _parse_causation_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        causation_id = _parse_causation_id(d.pop("causation_id", UNSET))

        entry_detail = cls(
            index=index,
            event_id=event_id,
            type_=type_,
            schema_version=schema_version,
            producer=producer,
            producer_seq=producer_seq,
            subject=subject,
            occurred_at=occurred_at,
            journaled_at=journaled_at,
            payload_commitment=payload_commitment,
            leaf_hash=leaf_hash,
            payload_state=payload_state,
            payload=payload,
            payload_salt=payload_salt,
            actor=actor,
            correlation_id=correlation_id,
            causation_id=causation_id,
        )

        entry_detail.additional_properties = d
        return entry_detail

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
