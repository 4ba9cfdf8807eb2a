"""Argon2id password hashing, always off the event loop (a hash takes tens of milliseconds), and
the strength rule for new passwords: zxcvbn's estimate, with French words added.

zxcvbn's dictionaries are English (leaked-password lists, English Wikipedia, US names and
film) and its keyboard graphs are QWERTY, Dvorak and keypads: "azerty", "motdepasse" or "soleil"
would count as random letters. Its `user_inputs` are matched like its own words (case, l33t,
reversal, glued to digits), so the person's own data, the platform's name, the years since 2020
and a short list of what French users pick most (AZERTY rows and columns, the favourite French
passwords, months, days, cities, first names, the service's vocabulary) go in there, ranked as
very likely.
"""

from __future__ import annotations

import asyncio
import re
import threading
import unicodedata
from collections.abc import Iterable
from functools import cached_property
from typing import Final

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from zxcvbn import zxcvbn
from zxcvbn.matching import L33T_TABLE, enumerate_l33t_subs, relevant_l33t_subtable

from identity.domain import PasswordRejection, check_password

MAX_EVALUATED_LENGTH: Final = 40
"""zxcvbn reads this many characters at most: its matching grows with the square of the length
(a 72-character input can take a second); 40 characters are already far past any threshold."""
MAX_L33T_VARIANTS: Final = 4
"""zxcvbn re-reads the input once per combination of l33t substitutions, a number that grows
exponentially with the distinct symbols in it (20 of them: seconds for 24 characters). Past this
many combinations the rest of the input is not read."""
DEFAULT_MIN_STRENGTH: Final = 3
"""zxcvbn's score 3: about 10^8 guesses, "safely unguessable" against online attacks."""

# Word lists kept as one string each: a literal list would take a line per word.
_PLATFORM = (
    "securact securact-ng securactng huissier commissaire commissairedejustice justice "
    "signification acte actes tribunal notaire cncj juridique"
)
PLATFORM_WORDS: Final = _PLATFORM.split()
# AZERTY rows, columns and walks, then the most frequent French choices in leaked lists.
_FRENCH = (
    "azerty azertyuiop qsdfghjklm wxcvbn azertyqsdfgh qsdfgh aqwzsx aqwzsxedc azer qsdf wxcv "
    "motdepasse mdp mot2passe soleil doudou chouchou loulou bisounours coucou bonjour salut "
    "jetaime jtm amour moncoeur mamour monamour cheri cherie maman papa mamie papy famille bebe "
    "chien chat tigrou titi toto tata nounours chocolat caramel fromage baguette princesse "
    "licorne cheval poney etoile bonheur secret bienvenue changemoi changezmoi temporaire "
    "provisoire nouveau ordinateur informatique clavier maison jardin anniversaire vacances "
    "plage printemps ete automne hiver liberte egalite fraternite france paris parisien "
    "marseille lyon toulouse bordeaux lille nantes allezlom allezparis psg olympique football "
    "rugby zizou janvier fevrier mars avril mai juin juillet aout septembre octobre novembre "
    "decembre lundi mardi mercredi jeudi vendredi samedi dimanche nicolas julien thomas "
    "camille alexandre maxime antoine quentin kevin marine julie manon pauline laura sarah lea "
    "chloe emma lucas hugo louis mathilde aurelie sebastien stephane christophe isabelle "
    "nathalie sandrine celine sophie"
)
FRENCH_WORDS: Final = _FRENCH.split()

# zxcvbn's "recent year" pattern stops at 2019 (the library dates from then): later years would
# count as four random digits. Up to 2049, where its date matching stops too.
RECENT_YEARS: Final = [str(year) for year in range(2020, 2050)]

_L33T_CHARACTERS: Final = frozenset(c for subs in L33T_TABLE.values() for c in subs)
_WORD = re.compile(r"[^\W\d_]{3,}")  # runs of three letters or more: names in an e-mail address
# zxcvbn keeps the user inputs of the call in a module-level dictionary: one call at a time.
_ZXCVBN = threading.Lock()


def evaluated_part(password: str) -> str:
    """The start of `password` that zxcvbn reads in bounded time (see the limits above).

    Reading a prefix is conservative: a password is never judged stronger than its start.
    Accents go (zxcvbn's words have none, and "liberté" is no harder to guess than "liberte")."""
    unaccented = "".join(
        c for c in unicodedata.normalize("NFKD", password) if not unicodedata.combining(c)
    )
    text = unaccented[:MAX_EVALUATED_LENGTH]
    seen: set[str] = set()
    for index, char in enumerate(text):
        if char in _L33T_CHARACTERS and char not in seen:
            seen.add(char)
            variants = enumerate_l33t_subs(relevant_l33t_subtable(text[: index + 1], L33T_TABLE))
            if len(variants) > MAX_L33T_VARIANTS:
                return text[:index]
    return text


def personal_words(
    identifier: str, email: str | None = None, mobile: str | None = None
) -> list[str]:
    """What an attacker who knows the account would try first: its identifier, the e-mail
    address and the names in it, the mobile number in its usual spellings."""
    words = [identifier, identifier.replace("-", "")]
    if email:
        local, _, domain = email.partition("@")
        names = _WORD.findall(local)
        words += [email, local, "".join(names), *names, *_WORD.findall(domain.split(".")[0])]
    if mobile:
        digits = "".join(c for c in mobile if c.isdigit())
        words += [mobile, digits]
        if digits.startswith("33"):
            words += ["0" + digits[2:], digits[2:]]
    return words


def strength(password: str, user_inputs: Iterable[str]) -> int:
    """zxcvbn's score (0 to 4) of `password`'s evaluated part, the inputs counted as likely."""
    inputs = [*user_inputs, *PLATFORM_WORDS, *RECENT_YEARS, *FRENCH_WORDS]
    with _ZXCVBN:
        return zxcvbn(evaluated_part(password), user_inputs=inputs)["score"]


class Passwords:
    """Hashes and verifies passwords with Argon2id at the configured cost, and judges new ones."""

    def __init__(
        self,
        *,
        time_cost: int,
        memory_cost_kib: int,
        parallelism: int,
        min_strength: int = DEFAULT_MIN_STRENGTH,
    ) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_cost_kib,
            parallelism=parallelism,
            type=Type.ID,
        )
        self._min_strength = min_strength

    async def check(
        self,
        password: str,
        *,
        identifier: str,
        email: str | None = None,
        mobile: str | None = None,
    ) -> PasswordRejection | None:
        """Why `password` is refused for this account, or None if it is acceptable. Too easy
        to guess counts as `COMMON` (the code the API and the portal already know)."""
        rejection = check_password(password, identifier)
        if rejection is not None:
            return rejection
        inputs = personal_words(identifier, email, mobile)
        score = await asyncio.to_thread(strength, password, inputs)
        return PasswordRejection.COMMON if score < self._min_strength else None

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether `password` matches; with no hash (unknown account, no password yet) a dummy
        hash is checked anyway so that the answer takes the same time."""
        target = password_hash or self._dummy_hash
        return await asyncio.to_thread(self._verify, target, password) and bool(password_hash)

    def needs_rehash(self, password_hash: str) -> bool:
        """True when the hash was made with other parameters (the cost was raised since)."""
        return self._hasher.check_needs_rehash(password_hash)

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    @cached_property
    def _dummy_hash(self) -> str:
        return self._hasher.hash("not a password: equalises the timing of unknown identifiers")
