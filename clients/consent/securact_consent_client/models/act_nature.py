from enum import StrEnum


class ActNature(StrEnum):
    ASSIGNATION = "assignation"
    AUTRE = "autre"
    COMMANDEMENT_PAYER = "commandement_payer"
    DENONCIATION = "denonciation"
    SAISIE_ATTRIBUTION = "saisie_attribution"
    SIGNIFICATION_JUGEMENT = "signification_jugement"

    def __str__(self) -> str:
        return str(self.value)
