from enum import StrEnum


class RequestState(StrEnum):
    GRANTED = "granted"
    OPEN = "open"
    REFUSED = "refused"

    def __str__(self) -> str:
        return str(self.value)
