"""Contains all the data models used in inputs/outputs"""

from .act_nature import ActNature
from .address import Address
from .article import Article
from .consent_change_domicile_body import ConsentChangeDomicileBody
from .consent_end import ConsentEnd
from .consent_register_body import ConsentRegisterBody
from .consent_status import ConsentStatus
from .consulter_role import ConsulterRole
from .contact_change import ContactChange
from .contact_kind import ContactKind
from .contestation import Contestation
from .declaration_part import DeclarationPart
from .declaration_status import DeclarationStatus
from .declaration_view import DeclarationView
from .document_type import DocumentType
from .export import Export
from .exported_consultation import ExportedConsultation
from .exported_proof import ExportedProof
from .field_error import FieldError
from .health_live_response_health_live import HealthLiveResponseHealthLive
from .history_entry import HistoryEntry
from .identity_line import IdentityLine
from .legal_person import LegalPerson
from .lookup import Lookup
from .lookup_hit import LookupHit
from .lookup_miss import LookupMiss
from .media_type import MediaType
from .my_declaration import MyDeclaration
from .my_restrictions import MyRestrictions
from .natural_person import NaturalPerson
from .person_kind import PersonKind
from .problem import Problem
from .problem_type import ProblemType
from .proof_link import ProofLink
from .queued_restriction import QueuedRestriction
from .readiness import Readiness
from .registered import Registered
from .representative import Representative
from .request_state import RequestState
from .restriction_answer import RestrictionAnswer
from .restriction_kind import RestrictionKind
from .restriction_outcome import RestrictionOutcome
from .restriction_queue import RestrictionQueue
from .restriction_recorded import RestrictionRecorded
from .restriction_request import RestrictionRequest
from .restriction_view import RestrictionView
from .revocation_request import RevocationRequest
from .statement import Statement
from .statement_contestation import StatementContestation
from .statement_validation import StatementValidation
from .territory import Territory
from .validation_problem import ValidationProblem

__all__ = (
    "ActNature",
    "Address",
    "Article",
    "ConsentChangeDomicileBody",
    "ConsentEnd",
    "ConsentRegisterBody",
    "ConsentStatus",
    "ConsulterRole",
    "ContactChange",
    "ContactKind",
    "Contestation",
    "DeclarationPart",
    "DeclarationStatus",
    "DeclarationView",
    "DocumentType",
    "Export",
    "ExportedConsultation",
    "ExportedProof",
    "FieldError",
    "HealthLiveResponseHealthLive",
    "HistoryEntry",
    "IdentityLine",
    "LegalPerson",
    "Lookup",
    "LookupHit",
    "LookupMiss",
    "MediaType",
    "MyDeclaration",
    "MyRestrictions",
    "NaturalPerson",
    "PersonKind",
    "Problem",
    "ProblemType",
    "ProofLink",
    "QueuedRestriction",
    "Readiness",
    "Registered",
    "Representative",
    "RequestState",
    "RestrictionAnswer",
    "RestrictionKind",
    "RestrictionOutcome",
    "RestrictionQueue",
    "RestrictionRecorded",
    "RestrictionRequest",
    "RestrictionView",
    "RevocationRequest",
    "Statement",
    "StatementContestation",
    "StatementValidation",
    "Territory",
    "ValidationProblem",
)
