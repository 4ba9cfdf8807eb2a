"""Contains all the data models used in inputs/outputs"""

from .field_error import FieldError
from .health_live_response_health_live import HealthLiveResponseHealthLive
from .journal_consistency_response_journal_consistency import JournalConsistencyResponseJournalConsistency
from .journal_get_entry_response_journal_get_entry import JournalGetEntryResponseJournalGetEntry
from .journal_head_response_journal_head import JournalHeadResponseJournalHead
from .journal_inclusion_response_journal_inclusion import JournalInclusionResponseJournalInclusion
from .journal_list_checkpoints_response_journal_list_checkpoints import (
    JournalListCheckpointsResponseJournalListCheckpoints,
)
from .journal_list_entries_response_journal_list_entries import JournalListEntriesResponseJournalListEntries
from .journal_stats_response_journal_stats import JournalStatsResponseJournalStats
from .problem import Problem
from .problem_type import ProblemType
from .readiness import Readiness
from .validation_problem import ValidationProblem

__all__ = (
    "FieldError",
    "HealthLiveResponseHealthLive",
    "JournalConsistencyResponseJournalConsistency",
    "JournalGetEntryResponseJournalGetEntry",
    "JournalHeadResponseJournalHead",
    "JournalInclusionResponseJournalInclusion",
    "JournalListCheckpointsResponseJournalListCheckpoints",
    "JournalListEntriesResponseJournalListEntries",
    "JournalStatsResponseJournalStats",
    "Problem",
    "ProblemType",
    "Readiness",
    "ValidationProblem",
)
