from enum import StrEnum


class PayloadState(StrEnum):
    ABSENT = "absent"
    AVAILABLE = "available"
    CORRUPT = "corrupt"
    SHREDDED = "shredded"
    WITHHELD = "withheld"

    def __str__(self) -> str:
        return str(self.value)
