"""Contains all the data models used in inputs/outputs"""

from .checkpoint_list import CheckpointList
from .checkpoint_view import CheckpointView
from .consistency_view import ConsistencyView
from .entry_detail import EntryDetail
from .entry_detail_payload import EntryDetailPayload
from .entry_page import EntryPage
from .field_error import FieldError
from .head_view import HeadView
from .health_live_response_health_live import HealthLiveResponseHealthLive
from .inclusion_view import InclusionView
from .journal_entry import JournalEntry
from .payload_state import PayloadState
from .problem import Problem
from .problem_type import ProblemType
from .readiness import Readiness
from .stats_view import StatsView
from .validation_problem import ValidationProblem

__all__ = (
    "CheckpointList",
    "CheckpointView",
    "ConsistencyView",
    "EntryDetail",
    "EntryDetailPayload",
    "EntryPage",
    "FieldError",
    "HeadView",
    "HealthLiveResponseHealthLive",
    "InclusionView",
    "JournalEntry",
    "PayloadState",
    "Problem",
    "ProblemType",
    "Readiness",
    "StatsView",
    "ValidationProblem",
)
