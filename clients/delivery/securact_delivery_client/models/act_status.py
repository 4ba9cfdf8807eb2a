from enum import StrEnum


class ActStatus(StrEnum):
    ERASED = "erased"
    HELD = "held"
    REJECTED = "rejected"
    SCHEDULED = "scheduled"
    SERVED = "served"

    def __str__(self) -> str:
        return str(self.value)
