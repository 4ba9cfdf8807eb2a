from enum import StrEnum


class ProblemType(StrEnum):
    URNSECURACTPROBLEMAUTHENTICATION_UNAVAILABLE = "urn:securact:problem:authentication-unavailable"
    URNSECURACTPROBLEMBAD_REQUEST = "urn:securact:problem:bad-request"
    URNSECURACTPROBLEMDATABASE_UNAVAILABLE = "urn:securact:problem:database-unavailable"
    URNSECURACTPROBLEMFORBIDDEN = "urn:securact:problem:forbidden"
    URNSECURACTPROBLEMINSUFFICIENT_SCOPE = "urn:securact:problem:insufficient-scope"
    URNSECURACTPROBLEMNOTICE_NOT_FOUND = "urn:securact:problem:notice-not-found"
    URNSECURACTPROBLEMNOTIFICATIONS_NOT_FOUND = "urn:securact:problem:notifications-not-found"
    URNSECURACTPROBLEMNOT_READY = "urn:securact:problem:not-ready"
    URNSECURACTPROBLEMOBJECT_STORE_UNAVAILABLE = "urn:securact:problem:object-store-unavailable"
    URNSECURACTPROBLEMREQUEST_BODY_TOO_LARGE = "urn:securact:problem:request-body-too-large"
    URNSECURACTPROBLEMUNAUTHENTICATED = "urn:securact:problem:unauthenticated"
    URNSECURACTPROBLEMUPLOAD_TOO_LARGE = "urn:securact:problem:upload-too-large"
    URNSECURACTPROBLEMWEBHOOK_ENDPOINT_NOT_FOUND = "urn:securact:problem:webhook-endpoint-not-found"
    URNSECURACTPROBLEMWEBHOOK_URL_REFUSED = "urn:securact:problem:webhook-url-refused"

    def __str__(self) -> str:
        return str(self.value)
