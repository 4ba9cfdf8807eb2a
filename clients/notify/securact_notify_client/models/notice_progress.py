from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.notice_kind import NoticeKind

T = TypeVar("T", bound="NoticeProgress")


@_attrs_define
class NoticeProgress:
    """Where a notice stands, for the operator: how many messages were recorded and what
    became of them. `sent` counts only those the relay accepted (`notify.notification-sent.v1`);
    the history of `notice:<id>` lists each, without its address.

        Attributes:
            notice_id (str):
            kind (NoticeKind): What a notice to users is about.
            fanned_out (bool): every account in scope has its message recorded
            accounts (int): accounts in scope so far
            offices (int):
            queued (int):
            sending (int):
            sent (int):
            failed (int):
    """

    notice_id: str
    kind: NoticeKind
    fanned_out: bool
    accounts: int
    offices: int
    queued: int
    sending: int
    sent: int
    failed: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        notice_id = self.notice_id

        kind = self.kind.value

        fanned_out = self.fanned_out

        accounts = self.accounts

        offices = self.offices

        queued = self.queued

        sending = self.sending

        sent = self.sent

        failed = self.failed

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "notice_id": notice_id,
                "kind": kind,
                "fanned_out": fanned_out,
                "accounts": accounts,
                "offices": offices,
                "queued": queued,
                "sending": sending,
                "sent": sent,
                "failed": failed,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        notice_id = d.pop("notice_id")

        kind = NoticeKind(d.pop("kind"))

        fanned_out = d.pop("fanned_out")

        accounts = d.pop("accounts")

        offices = d.pop("offices")

        queued = d.pop("queued")

        sending = d.pop("sending")

        sent = d.pop("sent")

        failed = d.pop("failed")

        notice_progress = cls(
            notice_id=notice_id,
            kind=kind,
            fanned_out=fanned_out,
            accounts=accounts,
            offices=offices,
            queued=queued,
            sending=sending,
            sent=sent,
            failed=failed,
        )

        notice_progress.additional_properties = d
        return notice_progress

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
