from enum import StrEnum


class LinkCheckRequestPurpose(StrEnum):
    ACTIVATION = "activation"
    RESET = "reset"

    def __str__(self) -> str:
        return str(self.value)
