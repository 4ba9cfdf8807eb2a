from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.post_mortem_directives import PostMortemDirectives


T = TypeVar("T", bound="DirectivesOfHolder")


@_attrs_define
class DirectivesOfHolder:
    """
    Attributes:
        directives (None | PostMortemDirectives): null when none are recorded
    """

    directives: None | PostMortemDirectives
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.post_mortem_directives import PostMortemDirectives  # noqa: PLC0415

        directives: dict[str, Any] | None
        if isinstance(self.directives, PostMortemDirectives):
            directives = self.directives.to_dict()
        else:
            directives = self.directives

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "directives": directives,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.post_mortem_directives import PostMortemDirectives  # noqa: PLC0415

        d = dict(src_dict)

        def _parse_directives(data: object) -> None | PostMortemDirectives:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                directives_type_0 = PostMortemDirectives.from_dict(data)

                return directives_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | PostMortemDirectives, data)

        directives = _parse_directives(d.pop("directives"))

        directives_of_holder = cls(
            directives=directives,
        )

        directives_of_holder.additional_properties = d
        return directives_of_holder

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
