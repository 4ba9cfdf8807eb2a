from enum import StrEnum


class RectificationOutcome(StrEnum):
    RECTIFIED = "rectified"
    REFUSED = "refused"

    def __str__(self) -> str:
        return str(self.value)
