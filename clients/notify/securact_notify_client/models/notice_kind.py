from enum import StrEnum


class NoticeKind(StrEnum):
    BREACH = "breach"
    MAINTENANCE = "maintenance"

    def __str__(self) -> str:
        return str(self.value)
