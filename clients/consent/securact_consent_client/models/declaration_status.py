from enum import StrEnum


class DeclarationStatus(StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    REFUSED = "refused"
    REGISTERED = "registered"
    REVOKED = "revoked"
    TERMINATED = "terminated"

    def __str__(self) -> str:
        return str(self.value)
