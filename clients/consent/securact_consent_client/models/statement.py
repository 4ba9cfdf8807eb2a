from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.act_nature import ActNature
from ..models.declaration_status import DeclarationStatus
from ..models.person_kind import PersonKind

if TYPE_CHECKING:
    from ..models.article import Article
    from ..models.identity_line import IdentityLine


T = TypeVar("T", bound="Statement")


@_attrs_define
class Statement:
    """What the person validates, and its hash.

    Attributes:
        declaration_id (str):
        status (DeclarationStatus): Lifecycle of a declaration: `registered` → `active` (CGU accepted) → `revoked` /
            `expired` / `terminated`; `registered` → `refused` (CGU refused) / `expired` /
            `terminated` / `revoked`.
        person_kind (PersonKind):
        identity (list[IdentityLine]):
        scope (list[ActNature]):
        valid_until (datetime.date | None):
        revocation_modalities (str):
        office_id (str):
        articles (list[Article]):
        articles_source (str):
        content_hash (str):
    """

    declaration_id: str
    status: DeclarationStatus
    person_kind: PersonKind
    identity: list[IdentityLine]
    scope: list[ActNature]
    valid_until: datetime.date | None
    revocation_modalities: str
    office_id: str
    articles: list[Article]
    articles_source: str
    content_hash: str

    def to_dict(self) -> dict[str, Any]:
        declaration_id = self.declaration_id

        status = self.status.value

        person_kind = self.person_kind.value

        identity = []
        for identity_item_data in self.identity:
            identity_item = identity_item_data.to_dict()
            identity.append(identity_item)

        scope = []
        for scope_item_data in self.scope:
            scope_item = scope_item_data.value
            scope.append(scope_item)

        valid_until: None | str
        if isinstance(self.valid_until, datetime.date):
            valid_until = self.valid_until.isoformat()
        else:
            valid_until = self.valid_until

        revocation_modalities = self.revocation_modalities

        office_id = self.office_id

        articles = []
        for articles_item_data in self.articles:
            articles_item = articles_item_data.to_dict()
            articles.append(articles_item)

        articles_source = self.articles_source

        content_hash = self.content_hash

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "declaration_id": declaration_id,
                "status": status,
                "person_kind": person_kind,
                "identity": identity,
                "scope": scope,
                "valid_until": valid_until,
                "revocation_modalities": revocation_modalities,
                "office_id": office_id,
                "articles": articles,
                "articles_source": articles_source,
                "content_hash": content_hash,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.article import Article  # noqa: PLC0415
        from ..models.identity_line import IdentityLine  # noqa: PLC0415

        d = dict(src_dict)
        declaration_id = d.pop("declaration_id")

        status = DeclarationStatus(d.pop("status"))

        person_kind = PersonKind(d.pop("person_kind"))

        identity = []
        _identity = d.pop("identity")
        for identity_item_data in _identity:
            identity_item = IdentityLine.from_dict(identity_item_data)

            identity.append(identity_item)

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

        revocation_modalities = d.pop("revocation_modalities")

        office_id = d.pop("office_id")

        articles = []
        _articles = d.pop("articles")
        for articles_item_data in _articles:
            articles_item = Article.from_dict(articles_item_data)

            articles.append(articles_item)

        articles_source = d.pop("articles_source")

        content_hash = d.pop("content_hash")

        statement = cls(
            declaration_id=declaration_id,
            status=status,
            person_kind=person_kind,
            identity=identity,
            scope=scope,
            valid_until=valid_until,
            revocation_modalities=revocation_modalities,
            office_id=office_id,
            articles=articles,
            articles_source=articles_source,
            content_hash=content_hash,
        )

        return statement
