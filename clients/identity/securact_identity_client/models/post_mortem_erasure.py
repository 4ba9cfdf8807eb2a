from enum import StrEnum


class PostMortemErasure(StrEnum):
    AT_ONCE = "at_once"
    SCHEDULED = "scheduled"

    def __str__(self) -> str:
        return str(self.value)
