from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Literal, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="SessionResponse")


@_attrs_define
class SessionResponse:
    """
    Attributes:
        access_token (str):
        expires_in (int):
        refresh_token (str):
        refresh_expires_at (datetime.datetime):
        scope (str):
        session_id (str):
        account_id (str):
        role (str):
        terms_acceptance_required (bool): a first CGU version to accept: the session may only answer it
        token_type (Literal['Bearer'] | Unset):  Default: 'Bearer'.
        terms_answer_pending (bool | Unset): a CGU version awaits the answer; the acts stay open meanwhile Default:
            False.
    """

    access_token: str
    expires_in: int
    refresh_token: str
    refresh_expires_at: datetime.datetime
    scope: str
    session_id: str
    account_id: str
    role: str
    terms_acceptance_required: bool
    token_type: Literal["Bearer"] | Unset = "Bearer"
    terms_answer_pending: bool | Unset = False
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        access_token = self.access_token

        expires_in = self.expires_in

        refresh_token = self.refresh_token

        refresh_expires_at = self.refresh_expires_at.isoformat()

        scope = self.scope

        session_id = self.session_id

        account_id = self.account_id

        role = self.role

        terms_acceptance_required = self.terms_acceptance_required

        token_type = self.token_type

        terms_answer_pending = self.terms_answer_pending

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "access_token": access_token,
                "expires_in": expires_in,
                "refresh_token": refresh_token,
                "refresh_expires_at": refresh_expires_at,
                "scope": scope,
                "session_id": session_id,
                "account_id": account_id,
                "role": role,
                "terms_acceptance_required": terms_acceptance_required,
            }
        )
        if token_type is not UNSET:
            field_dict["token_type"] = token_type
        if terms_answer_pending is not UNSET:
            field_dict["terms_answer_pending"] = terms_answer_pending

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        access_token = d.pop("access_token")

        expires_in = d.pop("expires_in")

        refresh_token = d.pop("refresh_token")

        refresh_expires_at = datetime.datetime.fromisoformat(d.pop("refresh_expires_at"))

        scope = d.pop("scope")

        session_id = d.pop("session_id")

        account_id = d.pop("account_id")

        role = d.pop("role")

        terms_acceptance_required = d.pop("terms_acceptance_required")

        token_type = cast(Literal["Bearer"] | Unset, d.pop("token_type", UNSET))
        if token_type != "Bearer" and not isinstance(token_type, Unset):
            raise ValueError(f"token_type must match const 'Bearer', got '{token_type}'")

        terms_answer_pending = d.pop("terms_answer_pending", UNSET)

        session_response = cls(
            access_token=access_token,
            expires_in=expires_in,
            refresh_token=refresh_token,
            refresh_expires_at=refresh_expires_at,
            scope=scope,
            session_id=session_id,
            account_id=account_id,
            role=role,
            terms_acceptance_required=terms_acceptance_required,
            token_type=token_type,
            terms_answer_pending=terms_answer_pending,
        )

        session_response.additional_properties = d
        return session_response

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
