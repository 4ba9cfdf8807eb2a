"""SMS adapters: a generic HTTP provider (JSON body, bearer token) and the dev adapter that
drops each SMS into the dev mailbox as an e-mail to `<number>@sms.invalid` (RFC 2606: the
`.invalid` TLD never reaches a real network)."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import format_datetime

import httpx

from notify.ports import (
    MailTransport,
    PermanentDeliveryError,
    SmsMessage,
    TransientDeliveryError,
)
from shared.clock import Clock

DEV_SMS_DOMAIN = "sms.invalid"


class HttpSmsGateway:
    """POSTs `{"from", "to", "text", "reference"}` to the provider's endpoint.

    2xx: accepted. 408, 425, 429 and 5xx: transient. Any other 4xx: permanent (the provider
    refuses this message, e.g. an unreachable number). The provider's answer is not quoted:
    it may echo the number.
    """

    def __init__(
        self, endpoint: str, token: str, http: httpx.AsyncClient, timeout_seconds: float = 10.0
    ) -> None:
        self._endpoint = endpoint
        self._token = token
        self._http = http
        self._timeout = timeout_seconds

    async def send(self, message: SmsMessage) -> None:
        try:
            response = await self._http.post(
                self._endpoint,
                json={
                    "from": message.sender,
                    "to": message.to,
                    "text": message.text,
                    "reference": message.reference,
                },
                headers={"Authorization": f"Bearer {self._token}"},
                timeout=self._timeout,
            )
        except httpx.TimeoutException:
            raise TransientDeliveryError("sms provider timeout") from None
        except httpx.TransportError as error:
            raise TransientDeliveryError(
                f"sms provider unreachable ({type(error).__name__})"
            ) from None
        status = response.status_code
        if 200 <= status < 300:
            return
        if status in (408, 425, 429) or status >= 500:
            raise TransientDeliveryError(f"sms provider answered {status}")
        raise PermanentDeliveryError(f"sms provider refused the message ({status})")

    async def close(self) -> None:
        await self._http.aclose()


class DevMailboxSmsGateway:
    """Dev and tests: an SMS becomes a plain-text mail to `<number>@sms.invalid`."""

    def __init__(self, transport: MailTransport, clock: Clock, mail_from: str) -> None:
        self._transport = transport
        self._clock = clock
        self._mail_from = mail_from

    async def send(self, message: SmsMessage) -> None:
        mail = EmailMessage()
        mail["From"] = self._mail_from
        mail["To"] = f"{message.to}@{DEV_SMS_DOMAIN}"
        mail["Subject"] = f"SMS de {message.sender}"
        mail["Date"] = format_datetime(self._clock.now())
        mail["Message-ID"] = f"<{message.reference}>"
        mail["X-Securact-Channel"] = "sms"
        mail.set_content(message.text)
        await self._transport.send(mail)

    async def close(self) -> None:
        """The mail transport is closed by its owner."""
