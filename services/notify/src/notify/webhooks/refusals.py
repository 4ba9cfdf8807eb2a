"""What the webhook routes refuse."""

from __future__ import annotations

from shared.refusals import Refusal


class EndpointNotFound(Refusal):
    status = 404
    code = "webhook-endpoint-not-found"
    title = "Webhook endpoint not found"


class EndpointUrlRefused(Refusal):
    status = 422
    code = "webhook-url-refused"
    title = "Webhook URL refused"
