"""Template values: the act nature shown in French, whatever delivery sends."""

from __future__ import annotations

import pytest

from notify.templates import ACT_NATURE_LABELS, act_nature_fr
from shared.contracts.consent import ActNature


def test_every_act_nature_has_a_french_label() -> None:
    assert set(ACT_NATURE_LABELS) == set(ActNature)
    assert act_nature_fr("commandement_payer") == "commandement de payer"
    assert act_nature_fr(ActNature.SAISIE_ATTRIBUTION) == "saisie-attribution"
    assert act_nature_fr("autre") == "autre acte"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("ordonnance_injonction", "ordonnance injonction"),  # a code added after this release
        ("signification d'un jugement", "signification d'un jugement"),  # free text
        ("", "acte"),
        (None, "acte"),
        ("x" * 500, "x" * 120),
    ],
)
def test_an_unknown_act_nature_is_shown_as_words_without_failing(
    value: str | None, shown: str
) -> None:
    assert act_nature_fr(value) == shown
