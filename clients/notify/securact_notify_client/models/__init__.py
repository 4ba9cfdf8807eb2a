"""Contains all the data models used in inputs/outputs"""

from .activation import Activation
from .channel import Channel
from .delivery_log import DeliveryLog
from .delivery_state import DeliveryState
from .delivery_view import DeliveryView
from .endpoint_input import EndpointInput
from .endpoint_list import EndpointList
from .endpoint_view import EndpointView
from .endpoint_with_secret import EndpointWithSecret
from .field_error import FieldError
from .health_live_response_health_live import HealthLiveResponseHealthLive
from .notice_kind import NoticeKind
from .notice_progress import NoticeProgress
from .notification_history import NotificationHistory
from .notification_kind import NotificationKind
from .notification_view import NotificationView
from .problem import Problem
from .problem_type import ProblemType
from .readiness import Readiness
from .state import State
from .validation_problem import ValidationProblem
from .webhook_event import WebhookEvent

__all__ = (
    "Activation",
    "Channel",
    "DeliveryLog",
    "DeliveryState",
    "DeliveryView",
    "EndpointInput",
    "EndpointList",
    "EndpointView",
    "EndpointWithSecret",
    "FieldError",
    "HealthLiveResponseHealthLive",
    "NoticeKind",
    "NoticeProgress",
    "NotificationHistory",
    "NotificationKind",
    "NotificationView",
    "Problem",
    "ProblemType",
    "Readiness",
    "State",
    "ValidationProblem",
    "WebhookEvent",
)
