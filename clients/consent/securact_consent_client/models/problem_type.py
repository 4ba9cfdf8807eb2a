from enum import StrEnum


class ProblemType(StrEnum):
    URNSECURACTPROBLEMAUTHENTICATION_UNAVAILABLE = "urn:securact:problem:authentication-unavailable"
    URNSECURACTPROBLEMBAD_REQUEST = "urn:securact:problem:bad-request"
    URNSECURACTPROBLEMDATABASE_UNAVAILABLE = "urn:securact:problem:database-unavailable"
    URNSECURACTPROBLEMDECLARATION_EXISTS = "urn:securact:problem:declaration-exists"
    URNSECURACTPROBLEMDECLARATION_NOT_ANSWERABLE = "urn:securact:problem:declaration-not-answerable"
    URNSECURACTPROBLEMDECLARATION_NOT_CHANGEABLE = "urn:securact:problem:declaration-not-changeable"
    URNSECURACTPROBLEMDECLARATION_NOT_FOUND = "urn:securact:problem:declaration-not-found"
    URNSECURACTPROBLEMDECLARATION_NOT_PURGEABLE = "urn:securact:problem:declaration-not-purgeable"
    URNSECURACTPROBLEMDECLARATION_NOT_REVOCABLE = "urn:securact:problem:declaration-not-revocable"
    URNSECURACTPROBLEMDECLARATION_STATEMENT_CHANGED = "urn:securact:problem:declaration-statement-changed"
    URNSECURACTPROBLEMFORBIDDEN = "urn:securact:problem:forbidden"
    URNSECURACTPROBLEMINSUFFICIENT_SCOPE = "urn:securact:problem:insufficient-scope"
    URNSECURACTPROBLEMLOOKUP_RATE_LIMITED = "urn:securact:problem:lookup-rate-limited"
    URNSECURACTPROBLEMNOT_READY = "urn:securact:problem:not-ready"
    URNSECURACTPROBLEMOBJECT_STORE_UNAVAILABLE = "urn:securact:problem:object-store-unavailable"
    URNSECURACTPROBLEMPROOF_GONE = "urn:securact:problem:proof-gone"
    URNSECURACTPROBLEMREQUEST_BODY_TOO_LARGE = "urn:securact:problem:request-body-too-large"
    URNSECURACTPROBLEMRESTRICTION_REQUEST_ANSWERED = "urn:securact:problem:restriction-request-answered"
    URNSECURACTPROBLEMRESTRICTION_REQUEST_NOT_FOUND = "urn:securact:problem:restriction-request-not-found"
    URNSECURACTPROBLEMUNAUTHENTICATED = "urn:securact:problem:unauthenticated"
    URNSECURACTPROBLEMUPLOAD_TOO_LARGE = "urn:securact:problem:upload-too-large"
    URNSECURACTPROBLEMVALIDATION_FAILED = "urn:securact:problem:validation-failed"

    def __str__(self) -> str:
        return str(self.value)
