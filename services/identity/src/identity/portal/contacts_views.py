"""What the contacts pages show and check: territory names, the change lines, the domicile
form's fields and errors, the notices after a change (`identity.portal.contacts_pages`)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from shared.french import legal_datetime
from shared.legal_calendar import Territory
from shared.portal import FormErrors

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS: Final = 60
MAX_PROOF_BYTES: Final = 10 * 1024 * 1024
PROOF_ACCEPT: Final = ".pdf,.jpg,.jpeg,.png,application/pdf,image/jpeg,image/png"
TERRITORY_NAMES: Final = {
    Territory.METROPOLE: "France métropolitaine",
    Territory.ALSACE_MOSELLE: "Alsace-Moselle",
    Territory.GUADELOUPE: "Guadeloupe",
    Territory.MARTINIQUE: "Martinique",
    Territory.GUYANE: "Guyane",
    Territory.REUNION: "La Réunion",
    Territory.MAYOTTE: "Mayotte",
    Territory.SAINT_MARTIN: "Saint-Martin",
    Territory.SAINT_BARTHELEMY: "Saint-Barthélemy",
}
CHANGE_KINDS: Final = {
    "email": "Adresse électronique",
    "mobile": "Téléphone mobile",
    "domicile": "Domicile",
}
CONTACT_ERRORS: Final = {
    "email-invalid": ("nouvelle_adresse", "Saisissez une adresse électronique valide."),
    "email-unchanged": ("nouvelle_adresse", "Les avis sont déjà envoyés à cette adresse."),
    "invalid-current-password": ("mot_de_passe", "Le mot de passe est incorrect."),
    "mobile-invalid": (
        "mobile",
        "Saisissez un numéro de mobile, par exemple 06 12 34 56 78 ou +590 690 12 34 56.",
    ),
}
# Consent's answers to a refused domicile, by where it points.
_DOMICILE_FIELDS: Final = {
    "code_postal": ("code_postal", "Ce code postal n'est pas dans un territoire desservi."),
    "issued_on": ("date_justificatif", "Le justificatif doit dater de moins de trois mois."),
    "type": ("justificatif", "Ce document n'est pas un justificatif de domicile accepté."),
    "proof": ("justificatif", "Le fichier doit être un PDF, un JPEG ou un PNG complet."),
}


@dataclass(frozen=True)
class ChangeLine:
    kind: str
    when: str
    territory: str | None


@dataclass(frozen=True)
class Domicile:
    """The declaration's address, its territory and the changes listed on it."""

    address: Mapping[str, str]
    territory: Territory
    changes: list[ChangeLine]

    @property
    def territory_name(self) -> str:
        return TERRITORY_NAMES.get(self.territory, self.territory.value)


def domicile_of(view: Mapping[str, Any]) -> Domicile | None:
    """Consent's `GET /v1/me/declaration` answer in the page's terms (None: purged)."""
    person = view.get("person")
    try:
        territory = Territory(str(view.get("territory")))
    except ValueError:
        return None
    if not isinstance(person, Mapping):
        return None
    address = person.get("domicile") or person.get("siege")
    if not isinstance(address, Mapping):
        return None
    changes = []
    for change in view.get("contact_changes") or []:
        if not isinstance(change, Mapping):
            continue
        try:
            at = datetime.fromisoformat(str(change.get("at")))
            moved_to = Territory(change["territory"]) if change.get("territory") else None
        except (ValueError, KeyError):
            continue
        changes.append(
            ChangeLine(
                kind=CHANGE_KINDS.get(str(change.get("kind")), str(change.get("kind"))),
                when=legal_datetime(at, territory),
                territory=TERRITORY_NAMES.get(moved_to) if moved_to else None,
            )
        )
    return Domicile({k: str(v) for k, v in address.items()}, territory, changes)


def domicile_errors(body: Mapping[str, Any]) -> FormErrors:
    """Consent's 422 `errors` (where, never the value) on the form's fields."""
    errors = FormErrors()
    for error in body.get("errors") or []:
        loc = [str(part) for part in (error.get("loc") or [])] if isinstance(error, dict) else []
        for where, (name, text) in _DOMICILE_FIELDS.items():
            if where in loc:
                if name not in errors.fields:
                    errors.add(name, text)
                break
    if not errors:
        errors.general.append("Votre nouveau domicile n'a pas pu être enregistré : vérifiez-le.")
    return errors


CONTACT_NOTICES: Final[dict[str, list[dict[str, str]]]] = {
    "confirmation-envoyee": [
        {
            "kind": "succes",
            "text": "Un lien de confirmation a été envoyé à la nouvelle adresse. Les avis y "
            "seront envoyés dès que vous l'aurez ouvert ; d'ici là, ils continuent d'arriver à "
            "votre adresse actuelle.",
        }
    ],
    "mobile-modifie": [
        {"kind": "succes", "text": "Votre numéro de mobile est enregistré."},
    ],
    "mobile-retire": [
        {"kind": "succes", "text": "Vous ne recevrez plus d'avis par SMS."},
    ],
    "domicile-modifie": [
        {
            "kind": "succes",
            "text": "Votre nouveau domicile est enregistré. Les actes signifiés à partir de "
            "maintenant suivent l'heure légale et les jours fériés de son territoire.",
        }
    ],
}
