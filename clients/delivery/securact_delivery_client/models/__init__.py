"""Contains all the data models used in inputs/outputs"""

from .act_nature import ActNature
from .act_page import ActPage
from .act_status import ActStatus
from .consent_end_notice import ConsentEndNotice
from .consent_end_reason import ConsentEndReason
from .delivery_deposit_body import DeliveryDepositBody
from .deposit_view import DepositView
from .erased_reply_ref import ErasedReplyRef
from .erased_reply_view import ErasedReplyView
from .evidence_keys import EvidenceKeys
from .evidence_record import EvidenceRecord
from .evidence_record_actors import EvidenceRecordActors
from .evidence_record_details import EvidenceRecordDetails
from .evidence_set import EvidenceSet
from .field_error import FieldError
from .health_live_response_health_live import HealthLiveResponseHealthLive
from .inbox import Inbox
from .judge_leave_view import JudgeLeaveView
from .lettre_simple import LettreSimple
from .lettre_simple_posting import LettreSimplePosting
from .lettre_simple_view import LettreSimpleView
from .media_type import MediaType
from .notification_view import NotificationView
from .office_act_view import OfficeActView
from .problem import Problem
from .problem_type import ProblemType
from .readiness import Readiness
from .recipient_act_view import RecipientActView
from .rejection_reason import RejectionReason
from .reply_list import ReplyList
from .reply_ref import ReplyRef
from .reply_view import ReplyView
from .scan_record import ScanRecord
from .service_quality import ServiceQuality
from .signature import Signature
from .territory import Territory
from .tombstone_view import TombstoneView
from .validation_problem import ValidationProblem

__all__ = (
    "ActNature",
    "ActPage",
    "ActStatus",
    "ConsentEndNotice",
    "ConsentEndReason",
    "DeliveryDepositBody",
    "DepositView",
    "ErasedReplyRef",
    "ErasedReplyView",
    "EvidenceKeys",
    "EvidenceRecord",
    "EvidenceRecordActors",
    "EvidenceRecordDetails",
    "EvidenceSet",
    "FieldError",
    "HealthLiveResponseHealthLive",
    "Inbox",
    "JudgeLeaveView",
    "LettreSimple",
    "LettreSimplePosting",
    "LettreSimpleView",
    "MediaType",
    "NotificationView",
    "OfficeActView",
    "Problem",
    "ProblemType",
    "Readiness",
    "RecipientActView",
    "RejectionReason",
    "ReplyList",
    "ReplyRef",
    "ReplyView",
    "ScanRecord",
    "ServiceQuality",
    "Signature",
    "Territory",
    "TombstoneView",
    "ValidationProblem",
)
