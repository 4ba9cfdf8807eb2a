from enum import StrEnum


class ConsulterRole(StrEnum):
    JUDICIAL_AUTHORITY = "judicial_authority"
    OFFICE = "office"

    def __str__(self) -> str:
        return str(self.value)
