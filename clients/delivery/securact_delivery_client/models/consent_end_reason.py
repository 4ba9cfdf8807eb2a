from enum import StrEnum


class ConsentEndReason(StrEnum):
    EXPIRED = "expired"
    REFUSED = "refused"
    REVOKED = "revoked"
    TERMINATED = "terminated"

    def __str__(self) -> str:
        return str(self.value)
