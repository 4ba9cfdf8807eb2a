"""What notify's use cases refuse. Each refusal carries its HTTP status, problem code and
title; `shared.refusals.install_refusal_handlers` maps them once to RFC 9457 problems."""

from __future__ import annotations

# Re-exported: the kernel's common refusals, under this service's name for them.
from shared.refusals import Forbidden as Forbidden
from shared.refusals import Refusal


class NotificationsNotFound(Refusal):
    """Nothing the caller may read for the subject (another office's act looks the same)."""

    status = 404
    code = "notifications-not-found"
    title = "No notifications"


class NoticeNotFound(Refusal):
    """No notice with this id reached notify (yet)."""

    status = 404
    code = "notice-not-found"
    title = "No such notice"
