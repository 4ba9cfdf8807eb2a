from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.account_notice_response import AccountNoticeResponse


T = TypeVar("T", bound="AccountTermsResponse")


@_attrs_define
class AccountTermsResponse:
    """
    Attributes:
        accepted_version (int | None):
        binding_version (int | None): the version that binds the account now
        answer_pending (bool): the binding version is not the accepted one
        notices (list[AccountNoticeResponse]):
    """

    accepted_version: int | None
    binding_version: int | None
    answer_pending: bool
    notices: list[AccountNoticeResponse]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        accepted_version: int | None
        accepted_version = self.accepted_version

        binding_version: int | None
        binding_version = self.binding_version

        answer_pending = self.answer_pending

        notices = []
        for notices_item_data in self.notices:
            notices_item = notices_item_data.to_dict()
            notices.append(notices_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "accepted_version": accepted_version,
                "binding_version": binding_version,
                "answer_pending": answer_pending,
                "notices": notices,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.account_notice_response import AccountNoticeResponse  # noqa: PLC0415

        d = dict(src_dict)

        def _parse_accepted_version(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        accepted_version = _parse_accepted_version(d.pop("accepted_version"))

        def _parse_binding_version(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        binding_version = _parse_binding_version(d.pop("binding_version"))

        answer_pending = d.pop("answer_pending")

        notices = []
        _notices = d.pop("notices")
        for notices_item_data in _notices:
            notices_item = AccountNoticeResponse.from_dict(notices_item_data)

            notices.append(notices_item)

        account_terms_response = cls(
            accepted_version=accepted_version,
            binding_version=binding_version,
            answer_pending=answer_pending,
            notices=notices,
        )

        account_terms_response.additional_properties = d
        return account_terms_response

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
