from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="JournalEntry")


@_attrs_define
class JournalEntry:
    """A journal entry as stored and served: exactly the leaf's fields (`LEAF_FIELDS`).

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
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
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

        journal_entry = cls(
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
        )

        journal_entry.additional_properties = d
        return journal_entry

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
