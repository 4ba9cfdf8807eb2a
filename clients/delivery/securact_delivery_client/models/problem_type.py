from enum import StrEnum


class ProblemType(StrEnum):
    URNSECURACTPROBLEMACT_ERASED = "urn:securact:problem:act-erased"
    URNSECURACTPROBLEMACT_NOT_FOUND = "urn:securact:problem:act-not-found"
    URNSECURACTPROBLEMAUTHENTICATION_UNAVAILABLE = "urn:securact:problem:authentication-unavailable"
    URNSECURACTPROBLEMBAD_REQUEST = "urn:securact:problem:bad-request"
    URNSECURACTPROBLEMDATABASE_UNAVAILABLE = "urn:securact:problem:database-unavailable"
    URNSECURACTPROBLEMEVIDENCE_REPORT_UNAVAILABLE = "urn:securact:problem:evidence-report-unavailable"
    URNSECURACTPROBLEMFORBIDDEN = "urn:securact:problem:forbidden"
    URNSECURACTPROBLEMIDEMPOTENCY_KEY_REQUIRED = "urn:securact:problem:idempotency-key-required"
    URNSECURACTPROBLEMIDEMPOTENCY_KEY_REUSED = "urn:securact:problem:idempotency-key-reused"
    URNSECURACTPROBLEMINSUFFICIENT_SCOPE = "urn:securact:problem:insufficient-scope"
    URNSECURACTPROBLEMJUDGE_LEAVE_ALREADY_USED = "urn:securact:problem:judge-leave-already-used"
    URNSECURACTPROBLEMLETTRE_SIMPLE_ALREADY_RECORDED = "urn:securact:problem:lettre-simple-already-recorded"
    URNSECURACTPROBLEMLETTRE_SIMPLE_NOT_DUE = "urn:securact:problem:lettre-simple-not-due"
    URNSECURACTPROBLEMNOT_READY = "urn:securact:problem:not-ready"
    URNSECURACTPROBLEMOBJECT_STORE_UNAVAILABLE = "urn:securact:problem:object-store-unavailable"
    URNSECURACTPROBLEMOFFICE_NOT_CONFIGURED = "urn:securact:problem:office-not-configured"
    URNSECURACTPROBLEMRECIPIENT_SUSPENDED = "urn:securact:problem:recipient-suspended"
    URNSECURACTPROBLEMREPLY_INFECTED = "urn:securact:problem:reply-infected"
    URNSECURACTPROBLEMREPLY_NOT_FOUND = "urn:securact:problem:reply-not-found"
    URNSECURACTPROBLEMREQUEST_BODY_TOO_LARGE = "urn:securact:problem:request-body-too-large"
    URNSECURACTPROBLEMSERVICE_WINDOW_CLOSED = "urn:securact:problem:service-window-closed"
    URNSECURACTPROBLEMUNAUTHENTICATED = "urn:securact:problem:unauthenticated"
    URNSECURACTPROBLEMUPLOAD_TOO_LARGE = "urn:securact:problem:upload-too-large"
    URNSECURACTPROBLEMVALIDATION_FAILED = "urn:securact:problem:validation-failed"

    def __str__(self) -> str:
        return str(self.value)
