"""Pure rules and thin adapters: address checks, masking, redaction, SMTP failure classes, the
HTTP SMS gateway (against a recording httpx transport)."""

from __future__ import annotations

import json

import aiosmtplib
import httpx
import pytest

from notify.domain import email_problem, mask_email, mask_mobile, message_id, redact
from notify.ports import PermanentDeliveryError, SmsMessage, TransientDeliveryError
from notify.sms import HttpSmsGateway
from notify.smtp import classify
from shared.contracts.notify import Channel


def test_addresses_outside_plain_ascii_syntax_are_refused() -> None:
    assert email_problem("jean.dupont@example.fr") is None
    assert email_problem("jean dupont@example.fr") == "invalid e-mail address"
    assert email_problem("jean@localhost") == "invalid e-mail address"
    assert email_problem("jean@example.fr\r\nBcc: x@y.fr") == "invalid e-mail address"


def test_masks_keep_enough_to_match_and_not_enough_to_reuse() -> None:
    assert mask_email("jean.dupont@example.fr") == "j***@example.fr"
    assert mask_mobile("+33612345678") == "+336******78"


def test_message_id_is_derived_from_the_event_and_recipient() -> None:
    first = message_id("evt-1", Channel.EMAIL, "a@example.fr", "n.test")
    assert first == message_id("evt-1", Channel.EMAIL, "A@Example.fr", "n.test")
    assert first != message_id("evt-1", Channel.EMAIL, "b@example.fr", "n.test")
    assert first.startswith("evt-1.email.")
    assert first.endswith("@n.test")


def test_redaction_removes_addresses_and_numbers_from_server_answers() -> None:
    reason = redact("550 5.1.1 <jean.dupont@example.fr>: unknown\r\n user +33 6 12 34 56 78")
    assert "jean" not in reason
    assert "12 34" not in reason
    assert reason == "550 5.1.1 <adresse>: unknown user <numéro>"


@pytest.mark.parametrize(
    ("error", "permanent", "reason"),
    [
        (aiosmtplib.SMTPResponseException(451, "4.3.0 try later"), False, "smtp 451 4.3.0"),
        (aiosmtplib.SMTPDataError(554, "5.7.1 rejected"), True, "smtp 554 5.7.1 rejected"),
        (
            aiosmtplib.SMTPRecipientsRefused(
                [aiosmtplib.SMTPRecipientRefused(550, "<a@b.fr> unknown", "a@b.fr")]
            ),
            True,
            "smtp 550 recipient refused: <adresse> unknown",
        ),
        (ConnectionRefusedError(111, "refused"), False, "smtp connection failed"),
        (aiosmtplib.SMTPServerDisconnected("gone"), False, "smtp connection lost"),
        (aiosmtplib.SMTPReadTimeoutError("slow"), False, "smtp timeout"),
        (aiosmtplib.SMTPAuthenticationError(535, "bad"), False, "smtp 535 authentication"),
    ],
)
def test_smtp_failures_are_classified(error: Exception, permanent: bool, reason: str) -> None:
    classified = classify(error)
    assert classified.permanent is permanent
    assert classified.reason.startswith(reason)


class RecordingProvider:
    def __init__(self, status: int) -> None:
        self.status = status
        self.requests: list[httpx.Request] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self.status, json={"id": "p-1"})


SMS = SmsMessage(to="+33612345678", text="Bonjour", reference="evt-1.sms.x@n", sender="SECURACT")


async def test_http_sms_gateway_posts_json_with_the_bearer_token() -> None:
    provider = RecordingProvider(202)
    http = httpx.AsyncClient(transport=httpx.MockTransport(provider.handle))
    gateway = HttpSmsGateway("https://sms.example.fr/v1/messages", "tok-1", http)
    await gateway.send(SMS)
    [request] = provider.requests
    assert request.headers["Authorization"] == "Bearer tok-1"
    assert json.loads(request.content) == {
        "from": "SECURACT",
        "to": "+33612345678",
        "text": "Bonjour",
        "reference": "evt-1.sms.x@n",
    }
    await gateway.close()


@pytest.mark.parametrize(
    ("status", "error"),
    [(503, TransientDeliveryError), (429, TransientDeliveryError), (400, PermanentDeliveryError)],
)
async def test_http_sms_gateway_classifies_provider_answers(
    status: int, error: type[Exception]
) -> None:
    http = httpx.AsyncClient(transport=httpx.MockTransport(RecordingProvider(status).handle))
    gateway = HttpSmsGateway("https://sms.example.fr/v1/messages", "tok-1", http)
    with pytest.raises(error):
        await gateway.send(SMS)
    await gateway.close()


async def test_http_sms_gateway_unreachable_is_transient() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    gateway = HttpSmsGateway(
        "https://sms.example.fr/v1/messages",
        "tok-1",
        httpx.AsyncClient(transport=httpx.MockTransport(refuse)),
    )
    with pytest.raises(TransientDeliveryError):
        await gateway.send(SMS)
    await gateway.close()
