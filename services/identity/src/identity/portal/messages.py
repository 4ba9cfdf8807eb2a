"""What the portal says, in French: messages for the use cases' error codes and the notices
shown after a redirect (chosen by a fixed key in the URL, never by free text)."""

from __future__ import annotations

from typing import Final

from identity.domain import MIN_PASSWORD_LENGTH, PasswordRejection
from identity.errors import IdentityError
from shared.portal import french_duration

INVALID_CREDENTIALS: Final = "Identifiant ou mot de passe incorrect."
GENERIC_FAILURE: Final = "Votre demande n'a pas pu aboutir. Réessayez dans quelques instants."

PASSWORD_RULES: Final = (
    f"Au moins {MIN_PASSWORD_LENGTH} caractères. Il doit être différent de votre identifiant "
    "et difficile à deviner : ni mot de passe courant, ni suite de touches, ni date, ni votre "
    "nom. Une phrase de plusieurs mots est un bon choix."
)

_PASSWORD_REJECTIONS: Final = {
    PasswordRejection.TOO_SHORT.value: (
        f"Le mot de passe doit comporter au moins {MIN_PASSWORD_LENGTH} caractères."
    ),
    PasswordRejection.TOO_LONG.value: "Le mot de passe est trop long (256 caractères au plus).",
    PasswordRejection.IS_IDENTIFIER.value: "Le mot de passe ne doit pas être votre identifiant.",
    PasswordRejection.COMMON.value: (
        "Ce mot de passe est trop courant ou trop facile à deviner : choisissez-en un autre."
    ),
}

_BY_CODE: Final = {
    "invalid-credentials": INVALID_CREDENTIALS,
    "account-suspended": (
        "Votre compte est suspendu par mesure de sécurité. Contactez l'assistance de "
        "SECURACT-NG pour le rétablir."
    ),
    "second-factor-required": (
        "Votre compte est protégé par une double authentification : saisissez à nouveau votre "
        "mot de passe et le code à 6 chiffres de votre application (ou un code de secours)."
    ),
    "invalid-second-factor": "Le code de vérification est incorrect ou a déjà été utilisé.",
    "link-invalid": (
        "Ce lien n'est plus valide : lien expiré ou déjà utilisé, ou remplacé par un lien "
        "plus récent."
    ),
    "invalid-current-password": "Le mot de passe actuel est incorrect.",
    "account-read-only": (
        "Votre compte est résilié : il est en lecture seule et ne peut plus être modifié."
    ),
    "terms-version-changed": (
        "Une nouvelle version des conditions générales est entrée en vigueur : lisez-la avant "
        "de répondre."
    ),
    "terms-already-accepted": "Vous avez déjà accepté cette version des conditions générales.",
    "terms-not-applicable": "Votre compte n'a pas de conditions générales à accepter.",
    "terms-refused": (
        "Vous avez refusé les conditions générales d'utilisation : ce refus est définitif. "
        "Votre compte ne donne accès à aucun service et aucun acte ne vous sera signifié par "
        "voie électronique."
    ),
    "already-terminated": "Votre compte est déjà résilié.",
    "not-a-recipient": "Seul un compte de destinataire peut être résilié.",
    "directives-not-found": "Vous n'avez pas de directives enregistrées.",
    "directives-invalid": (
        "La personne à prévenir doit être indiquée par son nom et son adresse électronique."
    ),
}


def message_for(error: IdentityError) -> str:
    """The French message for a refused use case (its `code`, never its English detail)."""
    if error.code == "too-many-attempts":
        wait = int(error.extra.get("retry_after_seconds", 60))
        return (
            "Trop de tentatives infructueuses. Pour protéger votre compte, les connexions sont "
            f"momentanément bloquées : réessayez dans {french_duration(wait)}."
        )
    if error.code == "too-many-reset-requests":
        wait = int(error.extra.get("retry_after_seconds", 3600))
        return (
            "Trop de demandes de réinitialisation depuis votre connexion : réessayez dans "
            f"{french_duration(wait)}."
        )
    if error.code == "password-rejected":
        return _PASSWORD_REJECTIONS.get(str(error.extra.get("reason")), GENERIC_FAILURE)
    return _BY_CODE.get(error.code, GENERIC_FAILURE)


# Notices after a redirect: `?info=<key>`.
NOTICES: Final = {
    "compte-active": (
        "succes",
        "Votre compte est activé. Lisez les conditions générales d'utilisation ci-dessous : "
        "les accepter vaut consentement à la signification électronique.",
    ),
    "compte-active-connexion": (
        "succes",
        "Votre compte est activé. Connectez-vous avec votre identifiant et votre mot de passe.",
    ),
    "cgu-acceptees": (
        "succes",
        "Vous avez accepté les conditions générales. Les actes peuvent désormais vous être "
        "signifiés par voie électronique.",
    ),
    "nouvelle-version": (
        "attention",
        "Une nouvelle version des conditions générales est entrée en vigueur pendant votre "
        "lecture : lisez-la avant de répondre.",
    ),
    "declaration-modifiee": (
        "attention",
        "Votre déclaration a été modifiée pendant votre lecture, ou vous ne l'avez pas encore "
        "validée : relisez-la avant de répondre.",
    ),
    "mot-de-passe-modifie": ("succes", "Votre mot de passe a été modifié."),
    "mot-de-passe-reinitialise": (
        "succes",
        "Votre mot de passe a été réinitialisé. Connectez-vous avec le nouveau mot de passe.",
    ),
    "demande-enregistree": (
        "succes",
        "Votre demande est enregistrée. L'opérateur du registre vous répondra : sa réponse "
        "apparaîtra sur cette page.",
    ),
    "totp-desactive": ("succes", "La double authentification est désactivée."),
    "directives-enregistrees": (
        "succes",
        "Vos directives sont enregistrées. Vous pouvez les modifier ou les révoquer à tout moment.",
    ),
    "directives-revoquees": (
        "succes",
        "Vos directives sont révoquées : en cas de décès, vos données suivront les délais "
        "habituels et personne ne sera prévenu.",
    ),
    "deconnecte": ("info", "Vous êtes déconnecté."),
    "session-expiree": ("attention", "Votre session a expiré : connectez-vous à nouveau."),
}


def notices(key: str | None) -> list[dict[str, str]]:
    found = NOTICES.get(key or "")
    return [{"kind": found[0], "text": found[1]}] if found else []
