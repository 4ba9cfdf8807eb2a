from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="AccountProfile")


@_attrs_define
class AccountProfile:
    """What the holder sees of their account (`GET /v1/me`, the portal's account page).

    Attributes:
        account_id (str):
        identifier (str):
        role (str):
        status (str):
        suspended (bool):
        email (None | str):
        totp_enabled (bool):
        recovery_codes_left (int):
        accepted_terms_version (int | None):
        terminated_at (None | str):
    """

    account_id: str
    identifier: str
    role: str
    status: str
    suspended: bool
    email: None | str
    totp_enabled: bool
    recovery_codes_left: int
    accepted_terms_version: int | None
    terminated_at: None | str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        account_id = self.account_id

        identifier = self.identifier

        role = self.role

        status = self.status

        suspended = self.suspended

        email: None | str
        email = self.email

        totp_enabled = self.totp_enabled

        recovery_codes_left = self.recovery_codes_left

        accepted_terms_version: int | None
        accepted_terms_version = self.accepted_terms_version

        terminated_at: None | str
        terminated_at = self.terminated_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "account_id": account_id,
                "identifier": identifier,
                "role": role,
                "status": status,
                "suspended": suspended,
                "email": email,
                "totp_enabled": totp_enabled,
                "recovery_codes_left": recovery_codes_left,
                "accepted_terms_version": accepted_terms_version,
                "terminated_at": terminated_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        account_id = d.pop("account_id")

        identifier = d.pop("identifier")

        role = d.pop("role")

        status = d.pop("status")

        suspended = d.pop("suspended")

        def _parse_email(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        email = _parse_email(d.pop("email"))

        totp_enabled = d.pop("totp_enabled")

        recovery_codes_left = d.pop("recovery_codes_left")

        def _parse_accepted_terms_version(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        accepted_terms_version = _parse_accepted_terms_version(d.pop("accepted_terms_version"))

        def _parse_terminated_at(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        terminated_at = _parse_terminated_at(d.pop("terminated_at"))

        account_profile = cls(
            account_id=account_id,
            identifier=identifier,
            role=role,
            status=status,
            suspended=suspended,
            email=email,
            totp_enabled=totp_enabled,
            recovery_codes_left=recovery_codes_left,
            accepted_terms_version=accepted_terms_version,
            terminated_at=terminated_at,
        )

        account_profile.additional_properties = d
        return account_profile

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
