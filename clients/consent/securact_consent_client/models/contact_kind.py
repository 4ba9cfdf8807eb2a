from enum import StrEnum


class ContactKind(StrEnum):
    DOMICILE = "domicile"
    EMAIL = "email"
    MOBILE = "mobile"

    def __str__(self) -> str:
        return str(self.value)
