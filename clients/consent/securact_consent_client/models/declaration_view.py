from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.act_nature import ActNature
from ..models.declaration_status import DeclarationStatus
from ..models.person_kind import PersonKind
from ..models.territory import Territory
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.contact_change import ContactChange
    from ..models.contestation import Contestation
    from ..models.history_entry import HistoryEntry
    from ..models.legal_person import LegalPerson
    from ..models.natural_person import NaturalPerson


T = TypeVar("T", bound="DeclarationView")


@_attrs_define
class DeclarationView:
    """The declaration as its registering office, its person or the operator see it.

    Attributes:
        id (str):
        status (DeclarationStatus): Lifecycle of a declaration: `registered` → `active` (CGU accepted) → `revoked` /
            `expired` / `terminated`; `registered` → `refused` (CGU refused) / `expired` /
            `terminated` / `revoked`.
        person_kind (PersonKind):
        person (LegalPerson | NaturalPerson | None): null once purged
        scope (list[ActNature]):
        valid_until (datetime.date | None):
        territory (Territory):
        revocation_modalities (None | str):
        office_id (str):
        registered_at (str):
        account_id (None | str):
        history (list[HistoryEntry]):
        purged_at (None | str):
        contestation (Contestation | None | Unset): the person refused the declaration as wrong: which parts, in their
            words
        contact_changes (list[ContactChange] | Unset): the person's changes of e-mail, mobile and domicile since
            registration (when; a domicile change names its territory and proof)
    """

    id: str
    status: DeclarationStatus
    person_kind: PersonKind
    person: LegalPerson | NaturalPerson | None
    scope: list[ActNature]
    valid_until: datetime.date | None
    territory: Territory
    revocation_modalities: None | str
    office_id: str
    registered_at: str
    account_id: None | str
    history: list[HistoryEntry]
    purged_at: None | str
    contestation: Contestation | None | Unset = UNSET
    contact_changes: list[ContactChange] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.contestation import Contestation  # noqa: PLC0415
        from ..models.legal_person import LegalPerson  # noqa: PLC0415
        from ..models.natural_person import NaturalPerson  # noqa: PLC0415

        id = self.id

        status = self.status.value

        person_kind = self.person_kind.value

        person: dict[str, Any] | None
        if isinstance(self.person, NaturalPerson):
            person = self.person.to_dict()
        elif isinstance(self.person, LegalPerson):
            person = self.person.to_dict()
        else:
            person = self.person

        scope = []
        for scope_item_data in self.scope:
            scope_item = scope_item_data.value
            scope.append(scope_item)

        valid_until: None | str
        if isinstance(self.valid_until, datetime.date):
            valid_until = self.valid_until.isoformat()
        else:
            valid_until = self.valid_until

        territory = self.territory.value

        revocation_modalities: None | str
        revocation_modalities = self.revocation_modalities

        office_id = self.office_id

        registered_at = self.registered_at

        account_id: None | str
        account_id = self.account_id

        history = []
        for history_item_data in self.history:
            history_item = history_item_data.to_dict()
            history.append(history_item)

        purged_at: None | str
        purged_at = self.purged_at

        contestation: dict[str, Any] | None | Unset
        if isinstance(self.contestation, Unset):
            contestation = UNSET
        elif isinstance(self.contestation, Contestation):
            contestation = self.contestation.to_dict()
        else:
            contestation = self.contestation

        contact_changes: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.contact_changes, Unset):
            contact_changes = []
            for contact_changes_item_data in self.contact_changes:
                contact_changes_item = contact_changes_item_data.to_dict()
                contact_changes.append(contact_changes_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "status": status,
                "person_kind": person_kind,
                "person": person,
                "scope": scope,
                "valid_until": valid_until,
                "territory": territory,
                "revocation_modalities": revocation_modalities,
                "office_id": office_id,
                "registered_at": registered_at,
                "account_id": account_id,
                "history": history,
                "purged_at": purged_at,
            }
        )
        if contestation is not UNSET:
            field_dict["contestation"] = contestation
        if contact_changes is not UNSET:
            field_dict["contact_changes"] = contact_changes

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.contact_change import ContactChange  # noqa: PLC0415
        from ..models.contestation import Contestation  # noqa: PLC0415
        from ..models.history_entry import HistoryEntry  # noqa: PLC0415
        from ..models.legal_person import LegalPerson  # noqa: PLC0415
        from ..models.natural_person import NaturalPerson  # noqa: PLC0415

        d = dict(src_dict)
        id = d.pop("id")

        status = DeclarationStatus(d.pop("status"))

        person_kind = PersonKind(d.pop("person_kind"))

        def _parse_person(data: object) -> LegalPerson | NaturalPerson | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                person_type_0_type_0 = NaturalPerson.from_dict(data)

                return person_type_0_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                person_type_0_type_1 = LegalPerson.from_dict(data)

                return person_type_0_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(LegalPerson | NaturalPerson | None, data)

        person = _parse_person(d.pop("person"))

        scope = []
        _scope = d.pop("scope")
        for scope_item_data in _scope:
            scope_item = ActNature(scope_item_data)

            scope.append(scope_item)

        def _parse_valid_until(data: object) -> datetime.date | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                valid_until_type_0 = datetime.date.fromisoformat(data)

                return valid_until_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.date | None, data)

        valid_until = _parse_valid_until(d.pop("valid_until"))

        territory = Territory(d.pop("territory"))

        def _parse_revocation_modalities(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        revocation_modalities = _parse_revocation_modalities(d.pop("revocation_modalities"))

        office_id = d.pop("office_id")

        registered_at = d.pop("registered_at")

        def _parse_account_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        account_id = _parse_account_id(d.pop("account_id"))

        history = []
        _history = d.pop("history")
        for history_item_data in _history:
            history_item = HistoryEntry.from_dict(history_item_data)

            history.append(history_item)

        def _parse_purged_at(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        purged_at = _parse_purged_at(d.pop("purged_at"))

        def _parse_contestation(data: object) -> Contestation | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                contestation_type_0 = Contestation.from_dict(data)

                return contestation_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(Contestation | None | Unset, data)

        contestation = _parse_contestation(d.pop("contestation", UNSET))

        _contact_changes = d.pop("contact_changes", UNSET)
        contact_changes: list[ContactChange] | Unset = UNSET
        if _contact_changes is not UNSET:
            contact_changes = []
            for contact_changes_item_data in _contact_changes:
                contact_changes_item = ContactChange.from_dict(contact_changes_item_data)

                contact_changes.append(contact_changes_item)

        declaration_view = cls(
            id=id,
            status=status,
            person_kind=person_kind,
            person=person,
            scope=scope,
            valid_until=valid_until,
            territory=territory,
            revocation_modalities=revocation_modalities,
            office_id=office_id,
            registered_at=registered_at,
            account_id=account_id,
            history=history,
            purged_at=purged_at,
            contestation=contestation,
            contact_changes=contact_changes,
        )

        declaration_view.additional_properties = d
        return declaration_view

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
