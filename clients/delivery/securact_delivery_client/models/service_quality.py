from enum import StrEnum


class ServiceQuality(StrEnum):
    A_DOMICILE = "a_domicile"
    A_PERSONNE = "a_personne"

    def __str__(self) -> str:
        return str(self.value)
