from enum import StrEnum


class RestrictionKind(StrEnum):
    OBJECTION = "objection"
    RESTRICTION = "restriction"

    def __str__(self) -> str:
        return str(self.value)
