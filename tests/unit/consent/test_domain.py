"""Consent's pure rules: proofs of the arrêté of 17 Nov 2023, freshness edges, SIREN keys,
field validation, search-key normalisation, content sniffing, the lifecycle table."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from consent.domain import (
    DeclarationError,
    DeclarationInput,
    DocumentType,
    ProofRef,
    Transition,
    check_declaration,
    check_proofs,
    effective_status,
    is_fresh,
    luhn_valid,
    months_before,
    next_status,
)
from consent.lookup import natural_key, natural_place_key, normalise
from shared.contracts.consent import ActNature, DeclarationStatus, PersonKind
from shared.documents import ContentError, MediaType
from shared.documents import DocumentInspector as ContentInspector
from shared.legal_calendar import Territory
from shared.legal_calendar import validity_end as expiry_instant
from tests.unit.consent.support import (
    EXE,
    JPEG,
    PDF,
    PNG,
    legal_declaration,
    legal_person,
    natural_declaration,
    natural_person,
)

# 10:00 in Paris on 10 April 2031.
NOW = datetime(2031, 4, 10, 8, 0, tzinfo=UTC)
TODAY = date(2031, 4, 10)
PEPPER = b"test-pepper"


# -- freshness -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2031, 4, 10), 3, date(2031, 1, 10)),
        (date(2031, 5, 31), 3, date(2031, 2, 28)),
        (date(2032, 5, 31), 3, date(2032, 2, 29)),
        (date(2031, 2, 15), 3, date(2030, 11, 15)),
        (date(2031, 12, 31), 1, date(2031, 11, 30)),
    ],
)
def test_months_before_counts_calendar_months_clamped_to_the_month_end(
    day: date, months: int, expected: date
) -> None:
    assert months_before(day, months) == expected


def test_a_document_exactly_three_months_old_is_refused() -> None:
    assert not is_fresh(date(2031, 1, 10), TODAY)


def test_a_document_one_day_under_three_months_is_accepted() -> None:
    assert is_fresh(date(2031, 1, 11), TODAY)


def test_a_document_issued_today_is_fresh_but_not_one_from_tomorrow() -> None:
    assert is_fresh(TODAY, TODAY)
    assert not is_fresh(TODAY + timedelta(days=1), TODAY)


def test_end_of_month_edge_31_may_refuses_28_february_and_accepts_1_march() -> None:
    assert not is_fresh(date(2031, 2, 28), date(2031, 5, 31))
    assert is_fresh(date(2031, 3, 1), date(2031, 5, 31))


# -- document types -------------------------------------------------------------------------


def refs(*items: tuple[DocumentType, date]) -> list[ProofRef]:
    return [ProofRef(f"p{i}", kind, issued) for i, (kind, issued) in enumerate(items)]


FRESH = TODAY - timedelta(days=10)
OLD_ID = date(2025, 6, 1)


@pytest.mark.parametrize(
    "id_type",
    [
        DocumentType.CARTE_IDENTITE,
        DocumentType.PASSEPORT,
        DocumentType.PERMIS_CONDUIRE,
        DocumentType.TITRE_SEJOUR,
    ],
)
def test_each_identity_document_with_a_fresh_proof_of_address_suffices(
    id_type: DocumentType,
) -> None:
    check_proofs(
        PersonKind.NATURAL,
        refs((id_type, OLD_ID), (DocumentType.JUSTIFICATIF_DOMICILE, FRESH)),
        TODAY,
    )


@pytest.mark.parametrize(
    ("kind", "proofs", "field", "words"),
    [
        (
            PersonKind.NATURAL,
            [(DocumentType.JUSTIFICATIF_DOMICILE, FRESH)],
            "proofs",
            "identity document",
        ),
        (PersonKind.NATURAL, [(DocumentType.PASSEPORT, OLD_ID)], "proofs", "justificatif_domicile"),
        (
            PersonKind.NATURAL,
            [
                (DocumentType.PASSEPORT, OLD_ID),
                (DocumentType.JUSTIFICATIF_DOMICILE, date(2031, 1, 10)),
            ],
            "proofs[1].issued_on",
            "less than 3 months",
        ),
        (
            PersonKind.NATURAL,
            [
                (DocumentType.PASSEPORT, OLD_ID),
                (DocumentType.JUSTIFICATIF_DOMICILE, FRESH),
                (DocumentType.EXTRAIT_KBIS, FRESH),
            ],
            "proofs[2].type",
            "not a proof for a natural",
        ),
        (
            PersonKind.NATURAL,
            [
                (DocumentType.PASSEPORT, TODAY + timedelta(days=1)),
                (DocumentType.JUSTIFICATIF_DOMICILE, FRESH),
            ],
            "proofs[0].issued_on",
            "future",
        ),
        (
            PersonKind.LEGAL,
            [(DocumentType.PASSEPORT, OLD_ID), (DocumentType.JUSTIFICATIF_POUVOIR, OLD_ID)],
            "proofs",
            "extrait_kbis",
        ),
        (
            PersonKind.LEGAL,
            [
                (DocumentType.EXTRAIT_KBIS, date(2031, 1, 10)),
                (DocumentType.PASSEPORT, OLD_ID),
                (DocumentType.JUSTIFICATIF_POUVOIR, OLD_ID),
            ],
            "proofs[0].issued_on",
            "less than 3 months",
        ),
        (
            PersonKind.LEGAL,
            [(DocumentType.EXTRAIT_KBIS, FRESH), (DocumentType.JUSTIFICATIF_POUVOIR, OLD_ID)],
            "proofs",
            "legal representative",
        ),
        (
            PersonKind.LEGAL,
            [(DocumentType.EXTRAIT_KBIS, FRESH), (DocumentType.PASSEPORT, OLD_ID)],
            "proofs",
            "justificatif_pouvoir",
        ),
        (
            PersonKind.LEGAL,
            [
                (DocumentType.EXTRAIT_KBIS, FRESH),
                (DocumentType.PASSEPORT, OLD_ID),
                (DocumentType.JUSTIFICATIF_POUVOIR, OLD_ID),
                (DocumentType.JUSTIFICATIF_DOMICILE, FRESH),
            ],
            "proofs[3].type",
            "not a proof for a legal",
        ),
    ],
)
def test_proof_sets_breaking_the_arrete_are_refused_with_the_field(
    kind: PersonKind, proofs: list[tuple[DocumentType, date]], field: str, words: str
) -> None:
    with pytest.raises(DeclarationError) as error:
        check_proofs(kind, refs(*proofs), TODAY)
    assert error.value.field == field
    assert words in error.value.message


def test_a_legal_person_with_fresh_kbis_representative_id_and_capacity_passes() -> None:
    check_proofs(
        PersonKind.LEGAL,
        refs(
            (DocumentType.EXTRAIT_KBIS, FRESH),
            (DocumentType.CARTE_IDENTITE, OLD_ID),
            (DocumentType.JUSTIFICATIF_POUVOIR, OLD_ID),
        ),
        TODAY,
    )


def test_an_identity_document_is_not_subject_to_the_three_month_rule() -> None:
    check_proofs(
        PersonKind.NATURAL,
        refs(
            (DocumentType.PASSEPORT, date(2022, 1, 1)), (DocumentType.JUSTIFICATIF_DOMICILE, FRESH)
        ),
        TODAY,
    )


# -- SIREN ----------------------------------------------------------------------------------


@pytest.mark.parametrize("siren", ["732829320", "552100554", "356000000", "443061841"])
def test_valid_siren_keys_verify(siren: str) -> None:
    assert luhn_valid(siren)


@pytest.mark.parametrize("siren", ["732829321", "552100555", "123456789", "44306184a"])
def test_wrong_siren_keys_fail(siren: str) -> None:
    assert not luhn_valid(siren)


def test_a_legal_declaration_with_a_bad_siren_key_is_refused() -> None:
    declaration = DeclarationInput.model_validate(
        legal_declaration(TODAY, person=legal_person(siren="732829321"))
    )
    with pytest.raises(DeclarationError) as error:
        check_declaration(declaration, NOW)
    assert error.value.field == "person.siren"


# -- the declaration's fields ---------------------------------------------------------------


def test_a_complete_natural_declaration_passes_and_derives_its_territory() -> None:
    declaration = DeclarationInput.model_validate(natural_declaration(TODAY))
    territory, today = check_declaration(declaration, NOW)
    assert (territory, today) == (Territory.METROPOLE, TODAY)


def test_a_legal_person_seated_in_strasbourg_is_in_alsace_moselle() -> None:
    declaration = DeclarationInput.model_validate(legal_declaration(TODAY))
    assert check_declaration(declaration, NOW)[0] is Territory.ALSACE_MOSELLE


def test_the_registration_date_is_the_legal_date_of_the_territory() -> None:
    # 22:30 UTC on 9 April is already 10 April in La Réunion (UTC+4).
    late = datetime(2031, 4, 9, 22, 30, tzinfo=UTC)
    person = natural_person(
        domicile={"adresse": "1 rue de Paris", "code_postal": "97400", "commune": "Saint-Denis"}
    )
    declaration = DeclarationInput.model_validate(natural_declaration(TODAY, person=person))
    assert check_declaration(declaration, late) == (Territory.REUNION, TODAY)


def test_the_scope_defaults_to_every_nature_of_act() -> None:
    raw = natural_declaration(TODAY)
    del raw["scope"]
    assert DeclarationInput.model_validate(raw).scope == list(ActNature)


def _person(**changes: Any) -> dict[str, Any]:
    return {"person": natural_person(**changes)}


@pytest.mark.parametrize(
    ("changes", "location"),
    [
        (_person(nom=""), ("person", "natural", "nom")),
        (_person(prenoms="   "), ("person", "natural", "prenoms")),
        (_person(date_naissance="19-07-1984"), ("person", "natural", "date_naissance")),
        (_person(lieu_naissance=""), ("person", "natural", "lieu_naissance")),
        (_person(email="not-an-address"), ("person", "natural", "email")),
        (_person(mobile="0612345678"), ("person", "natural", "mobile")),
        (
            _person(domicile={"adresse": "x", "code_postal": "7500", "commune": "Paris"}),
            ("person", "natural", "domicile", "code_postal"),
        ),
        (_person(kind="robot"), ("person",)),
        (_person(surnom="x"), ("person", "natural", "surnom")),
        ({"scope": ["mariage"]}, ("scope", 0)),
        ({"scope": []}, ()),
        ({"scope": ["assignation", "assignation"]}, ()),
        ({"duration": {"type": "until"}}, ("duration", "until", "until")),
        ({"duration": {"type": "forever"}}, ("duration",)),
        ({"revocation_modalities": ""}, ("revocation_modalities",)),
        ({"proofs": []}, ("proofs",)),
        (
            {"proofs": [{"part": "a b", "type": "passeport", "issued_on": "2030-01-01"}]},
            ("proofs", 0, "part"),
        ),
        (
            {"proofs": [{"part": "a", "type": "photo", "issued_on": "2030-01-01"}]},
            ("proofs", 0, "type"),
        ),
        (
            {"proofs": [{"part": "a", "type": "passeport", "issued_on": "hier"}]},
            ("proofs", 0, "issued_on"),
        ),
    ],
)
def test_each_malformed_field_is_refused_where_it_is(
    changes: dict[str, Any], location: tuple[Any, ...]
) -> None:
    with pytest.raises(ValidationError) as error:
        DeclarationInput.model_validate(natural_declaration(TODAY, **changes))
    locations = [tuple(e["loc"]) for e in error.value.errors()]
    assert any(loc[: len(location)] == location for loc in locations), locations


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"person": natural_person(date_naissance="2031-04-10")}, "person.date_naissance"),
        ({"person": natural_person(date_naissance="1899-12-31")}, "person.date_naissance"),
        (
            {
                "person": natural_person(
                    domicile={"adresse": "x", "code_postal": "98000", "commune": "Monaco"}
                )
            },
            "person.domicile.code_postal",
        ),
        ({"duration": {"type": "until", "until": "2031-04-10"}}, "duration.until"),
    ],
)
def test_rules_beyond_the_shape_name_the_field(changes: dict[str, Any], field: str) -> None:
    declaration = DeclarationInput.model_validate(natural_declaration(TODAY, **changes))
    with pytest.raises(DeclarationError) as error:
        check_declaration(declaration, NOW)
    assert error.value.field == field


def test_a_consent_until_a_date_expires_at_the_next_midnight_of_its_territory() -> None:
    assert expiry_instant(date(2031, 6, 30), Territory.METROPOLE) == datetime(
        2031, 6, 30, 22, 0, tzinfo=UTC
    )
    assert expiry_instant(date(2031, 6, 30), Territory.GUYANE) == datetime(
        2031, 7, 1, 3, 0, tzinfo=UTC
    )


# -- search keys ----------------------------------------------------------------------------


def test_normalisation_folds_case_accents_and_spaces_only() -> None:
    assert normalise("  ÉLOÏSE   Marguerite ") == "eloise marguerite"
    assert normalise("Straße") == "strasse"
    assert normalise("Jean-Pierre") != normalise("Jean Pierre")


def test_search_keys_match_exactly_after_normalisation_and_depend_on_the_pepper() -> None:
    key = natural_key(PEPPER, "Quenneville", "Éloïse", date(1984, 7, 19))
    assert key == natural_key(PEPPER, "QUENNEVILLE", "eloise", date(1984, 7, 19))
    assert key != natural_key(PEPPER, "Quenneville", "Eloise", date(1984, 7, 20))
    assert key != natural_key(PEPPER, "Quenevile", "Eloise", date(1984, 7, 19))
    assert key != natural_key(b"other", "Quenneville", "Eloise", date(1984, 7, 19))
    assert "quenneville" not in key


def test_the_place_narrows_into_a_distinct_key() -> None:
    plain = natural_key(PEPPER, "A", "B", date(1990, 1, 1))
    with_place = natural_place_key(PEPPER, "A", "B", date(1990, 1, 1), "Lyon")
    assert plain != with_place
    assert with_place == natural_place_key(PEPPER, "a", "b", date(1990, 1, 1), " LYON ")


# -- content sniffing -----------------------------------------------------------------------


def inspect(data: bytes, chunk: int = 3) -> MediaType:
    inspector = ContentInspector()
    for start in range(0, len(data), chunk):
        inspector.feed(data[start : start + chunk])
    return inspector.finish()


@pytest.mark.parametrize(
    ("data", "expected"),
    [(PDF, MediaType.PDF), (PNG, MediaType.PNG), (JPEG, MediaType.JPEG)],
)
def test_documents_are_recognised_by_their_content_whatever_the_chunking(
    data: bytes, expected: MediaType
) -> None:
    assert inspect(data) is expected
    assert inspect(data, chunk=len(data)) is expected


def test_an_executable_is_refused_at_its_first_bytes() -> None:
    inspector = ContentInspector()
    with pytest.raises(ContentError, match="neither"):
        inspector.feed(EXE)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "empty"),
        (b"%PDF-1.7\n1 0 obj\n", "trailer"),
        (b"%PDF", "neither"),
        (b"GIF89a" + bytes(20), "neither"),
        (b"<html><script>", "neither"),
    ],
)
def test_empty_truncated_or_foreign_files_are_refused(data: bytes, words: str) -> None:
    with pytest.raises(ContentError, match=words):
        inspect(data)


# -- lifecycle ------------------------------------------------------------------------------

R, A = DeclarationStatus.REGISTERED, DeclarationStatus.ACTIVE


@pytest.mark.parametrize(
    ("current", "transition", "expected"),
    [
        (R, Transition.ACTIVATE, A),
        (R, Transition.REFUSE, DeclarationStatus.REFUSED),
        (R, Transition.REVOKE, DeclarationStatus.REVOKED),
        (R, Transition.EXPIRE, DeclarationStatus.EXPIRED),
        (R, Transition.TERMINATE, DeclarationStatus.TERMINATED),
        (A, Transition.REVOKE, DeclarationStatus.REVOKED),
        (A, Transition.EXPIRE, DeclarationStatus.EXPIRED),
        (A, Transition.TERMINATE, DeclarationStatus.TERMINATED),
        (A, Transition.ACTIVATE, None),
        (A, Transition.REFUSE, None),
        (DeclarationStatus.REVOKED, Transition.ACTIVATE, None),
        (DeclarationStatus.REVOKED, Transition.REVOKE, None),
        (DeclarationStatus.REFUSED, Transition.ACTIVATE, None),
        (DeclarationStatus.EXPIRED, Transition.ACTIVATE, None),
        (DeclarationStatus.TERMINATED, Transition.ACTIVATE, None),
        (DeclarationStatus.EXPIRED, Transition.TERMINATE, None),
    ],
)
def test_lifecycle_table(
    current: DeclarationStatus, transition: Transition, expected: DeclarationStatus | None
) -> None:
    assert next_status(current, transition) is expected


def test_a_live_declaration_past_its_end_reads_as_expired_before_the_job_runs() -> None:
    end = datetime(2031, 6, 30, 22, 0, tzinfo=UTC)
    assert effective_status(A, end, end - timedelta(microseconds=1)) is A
    assert effective_status(A, end, end) is DeclarationStatus.EXPIRED
    assert effective_status(DeclarationStatus.REVOKED, end, end) is DeclarationStatus.REVOKED
    assert effective_status(A, None, end) is A
