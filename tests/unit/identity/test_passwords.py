"""New passwords: zxcvbn's estimate with French words, the account's own data and recent years
added, a minimum score from the settings, in bounded time whatever is typed."""

from __future__ import annotations

import time

import pytest

from identity.domain import MAX_PASSWORD_LENGTH, PasswordRejection
from identity.passwords import (
    MAX_EVALUATED_LENGTH,
    Passwords,
    evaluated_part,
    personal_words,
)
from identity.settings import Settings

IDENTIFIER = "ABCD-EFGH-JKLM"
EMAIL = "camille.durand@exemple.fr"
MOBILE = "+33698765432"


def passwords(min_strength: int = 3) -> Passwords:
    return Passwords(time_cost=1, memory_cost_kib=8, parallelism=1, min_strength=min_strength)


async def verdict(password: str, min_strength: int = 3) -> PasswordRejection | None:
    return await passwords(min_strength).check(
        password, identifier=IDENTIFIER, email=EMAIL, mobile=MOBILE
    )


@pytest.mark.parametrize(
    "password",
    [
        "motdepasse123",
        "motdepasse2024!",
        "azertyuiop123",
        "azerty123456",
        "qsdfghjklm12",  # the AZERTY middle row: zxcvbn's keyboards are QWERTY and Dvorak
        "poiuytreza12",  # ... reversed
        "123456789012",
        "password1234",
        "M0td3P4ss3!!",  # l33t does not hide a French word
        "Securact2024!",  # the platform's name and this year
        "Marseille13013",
        "Fraternité2025",  # accents do not hide a French word
    ],
)
async def test_common_french_passwords_and_patterns_are_refused_as_common(password: str) -> None:
    assert await verdict(password) is PasswordRejection.COMMON


@pytest.mark.parametrize(
    "password",
    [
        "camilledurand1990",  # the names in the e-mail address, glued
        "0698765432-abc",  # the mobile number, national form
        "Camille.Durand!!",  # the e-mail address's local part
    ],
)
async def test_passwords_built_from_the_account_s_own_data_are_refused(password: str) -> None:
    assert await verdict(password) is PasswordRejection.COMMON
    # Without the account's data the same password would pass: the inputs are what refuse it.
    assert await passwords().check(password, identifier=IDENTIFIER) is None


@pytest.mark.parametrize(
    "password",
    [
        "cheval-batterie-agrafe",
        "douze-caract",
        "J'aime les crêpes au beurre salé",
        "rivière-cailloux-42",
        "Tr0ub4dor&3xx",
    ],
)
async def test_hard_to_guess_passwords_are_accepted(password: str) -> None:
    assert await verdict(password) is None


async def test_the_fixed_rules_come_first() -> None:
    assert await verdict("court") is PasswordRejection.TOO_SHORT
    assert await verdict("x" * (MAX_PASSWORD_LENGTH + 1)) is PasswordRejection.TOO_LONG
    assert await verdict("abcd efgh jklm") is PasswordRejection.IS_IDENTIFIER


async def test_the_minimum_score_is_a_setting() -> None:
    assert Settings().password_min_strength == 3
    assert await verdict("Huissier-de-Justice", min_strength=3) is None
    assert await verdict("Huissier-de-Justice", min_strength=4) is PasswordRejection.COMMON


def test_the_person_s_data_is_offered_in_the_spellings_people_type() -> None:
    words = personal_words(IDENTIFIER, EMAIL, MOBILE)
    assert {"ABCDEFGHJKLM", "camille", "durand", "camilledurand", "exemple"} <= set(words)
    assert {"0698765432", "698765432", "+33698765432"} <= set(words)
    assert personal_words(IDENTIFIER) == [IDENTIFIER, "ABCDEFGHJKLM"]


async def test_a_long_password_is_judged_on_its_start_without_error() -> None:
    # zxcvbn refuses inputs over 72 characters; the check reads the first 40.
    strong = "cheval-batterie-agrafe-" + "x" * (MAX_PASSWORD_LENGTH - 23)
    assert await verdict(strong) is None
    assert await verdict("a" * MAX_PASSWORD_LENGTH) is PasswordRejection.COMMON
    assert len(evaluated_part(strong)) == MAX_EVALUATED_LENGTH


async def test_symbol_heavy_input_is_judged_in_bounded_time() -> None:
    # Every l33t symbol zxcvbn knows: its substitution combinations grow exponentially (zxcvbn
    # alone takes seconds on 24 of these characters); the check stops reading before that.
    hostile = ("4@8({[<369!|0$5+7%2" * 20)[:MAX_PASSWORD_LENGTH]
    started = time.perf_counter()
    await verdict(hostile)
    assert time.perf_counter() - started < 1.0
    assert len(evaluated_part(hostile)) < 24
