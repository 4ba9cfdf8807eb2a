from enum import StrEnum


class DocumentType(StrEnum):
    CARTE_IDENTITE = "carte_identite"
    EXTRAIT_KBIS = "extrait_kbis"
    JUSTIFICATIF_DOMICILE = "justificatif_domicile"
    JUSTIFICATIF_POUVOIR = "justificatif_pouvoir"
    PASSEPORT = "passeport"
    PERMIS_CONDUIRE = "permis_conduire"
    TITRE_SEJOUR = "titre_sejour"

    def __str__(self) -> str:
        return str(self.value)
