"""What notify's use cases refuse. Each refusal carries its HTTP status, problem code and
title; `shared.refusals.install_refusal_handlers` maps them once to RFC 9457 problems."""

from __future__ import annotations

from shared.refusals import Refusal


class Forbidden(Refusal):
    status = 403
    code = "forbidden"
    title = "Forbidden"


class NotificationsNotFound(Refusal):
    """Nothing the caller may read for the subject (another office's act looks the same)."""

    status = 404
    code = "notifications-not-found"
    title = "No notifications"
