from enum import StrEnum


class Territory(StrEnum):
    ALSACE_MOSELLE = "alsace_moselle"
    GUADELOUPE = "guadeloupe"
    GUYANE = "guyane"
    MARTINIQUE = "martinique"
    MAYOTTE = "mayotte"
    METROPOLE = "metropole"
    REUNION = "reunion"
    SAINT_BARTHELEMY = "saint_barthelemy"
    SAINT_MARTIN = "saint_martin"

    def __str__(self) -> str:
        return str(self.value)
