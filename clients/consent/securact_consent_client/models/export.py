from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.declaration_view import DeclarationView
    from ..models.exported_consultation import ExportedConsultation
    from ..models.exported_proof import ExportedProof
    from ..models.restriction_view import RestrictionView


T = TypeVar("T", bound="Export")


@_attrs_define
class Export:
    """Everything consent holds about the person (GDPR art. 15 and 20).

    Attributes:
        exported_at (str):
        declaration (DeclarationView): The declaration as its registering office, its person or the operator see it.
        proofs (list[ExportedProof]):
        registry_consultations (list[ExportedConsultation]):
        restriction_requests (list[RestrictionView]):
    """

    exported_at: str
    declaration: DeclarationView
    proofs: list[ExportedProof]
    registry_consultations: list[ExportedConsultation]
    restriction_requests: list[RestrictionView]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        exported_at = self.exported_at

        declaration = self.declaration.to_dict()

        proofs = []
        for proofs_item_data in self.proofs:
            proofs_item = proofs_item_data.to_dict()
            proofs.append(proofs_item)

        registry_consultations = []
        for registry_consultations_item_data in self.registry_consultations:
            registry_consultations_item = registry_consultations_item_data.to_dict()
            registry_consultations.append(registry_consultations_item)

        restriction_requests = []
        for restriction_requests_item_data in self.restriction_requests:
            restriction_requests_item = restriction_requests_item_data.to_dict()
            restriction_requests.append(restriction_requests_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "exported_at": exported_at,
                "declaration": declaration,
                "proofs": proofs,
                "registry_consultations": registry_consultations,
                "restriction_requests": restriction_requests,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.declaration_view import DeclarationView  # noqa: PLC0415
        from ..models.exported_consultation import ExportedConsultation  # noqa: PLC0415
        from ..models.exported_proof import ExportedProof  # noqa: PLC0415
        from ..models.restriction_view import RestrictionView  # noqa: PLC0415

        d = dict(src_dict)
        exported_at = d.pop("exported_at")

        declaration = DeclarationView.from_dict(d.pop("declaration"))

        proofs = []
        _proofs = d.pop("proofs")
        for proofs_item_data in _proofs:
            proofs_item = ExportedProof.from_dict(proofs_item_data)

            proofs.append(proofs_item)

        registry_consultations = []
        _registry_consultations = d.pop("registry_consultations")
        for registry_consultations_item_data in _registry_consultations:
            registry_consultations_item = ExportedConsultation.from_dict(registry_consultations_item_data)

            registry_consultations.append(registry_consultations_item)

        restriction_requests = []
        _restriction_requests = d.pop("restriction_requests")
        for restriction_requests_item_data in _restriction_requests:
            restriction_requests_item = RestrictionView.from_dict(restriction_requests_item_data)

            restriction_requests.append(restriction_requests_item)

        export = cls(
            exported_at=exported_at,
            declaration=declaration,
            proofs=proofs,
            registry_consultations=registry_consultations,
            restriction_requests=restriction_requests,
        )

        export.additional_properties = d
        return export

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
