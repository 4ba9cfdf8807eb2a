from enum import StrEnum


class ProblemType(StrEnum):
    URNSECURACTPROBLEMAUTHENTICATION_UNAVAILABLE = "urn:securact:problem:authentication-unavailable"
    URNSECURACTPROBLEMBAD_REQUEST = "urn:securact:problem:bad-request"
    URNSECURACTPROBLEMDATABASE_UNAVAILABLE = "urn:securact:problem:database-unavailable"
    URNSECURACTPROBLEMENTRY_NOT_CHECKPOINTED = "urn:securact:problem:entry-not-checkpointed"
    URNSECURACTPROBLEMENTRY_NOT_FOUND = "urn:securact:problem:entry-not-found"
    URNSECURACTPROBLEMFORBIDDEN = "urn:securact:problem:forbidden"
    URNSECURACTPROBLEMINSUFFICIENT_SCOPE = "urn:securact:problem:insufficient-scope"
    URNSECURACTPROBLEMNOT_READY = "urn:securact:problem:not-ready"
    URNSECURACTPROBLEMNO_CHECKPOINT = "urn:securact:problem:no-checkpoint"
    URNSECURACTPROBLEMNO_TIMESTAMP = "urn:securact:problem:no-timestamp"
    URNSECURACTPROBLEMOBJECT_STORE_UNAVAILABLE = "urn:securact:problem:object-store-unavailable"
    URNSECURACTPROBLEMREQUEST_BODY_TOO_LARGE = "urn:securact:problem:request-body-too-large"
    URNSECURACTPROBLEMSIZE_NOT_CHECKPOINTED = "urn:securact:problem:size-not-checkpointed"
    URNSECURACTPROBLEMUNAUTHENTICATED = "urn:securact:problem:unauthenticated"
    URNSECURACTPROBLEMUPLOAD_TOO_LARGE = "urn:securact:problem:upload-too-large"

    def __str__(self) -> str:
        return str(self.value)
