from enum import StrEnum


class DeclarationPart(StrEnum):
    DURATION = "duration"
    IDENTITY = "identity"
    NATURES = "natures"
    OTHER = "other"
    REVOCATION = "revocation"

    def __str__(self) -> str:
        return str(self.value)
