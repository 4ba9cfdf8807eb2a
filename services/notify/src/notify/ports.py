"""What notify needs from the outside world to hand a message over: an e-mail transport, an
SMS gateway, and identity's links (fetched when a link e-mail is sent). Adapters raise
`TransientDeliveryError` when trying again later may succeed and
`PermanentDeliveryError` when it cannot; their `reason` is already redacted (no addresses)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol

BeforeData = Callable[[], Awaitable[None]]
"""Called once the relay accepted the envelope (MAIL, RCPT), just before the message itself
is transmitted (DATA): from then on the relay may accept it. An exception aborts the send."""


class DeliveryError(Exception):
    """The message was not handed over. `reason` is safe for logs and events."""

    permanent: bool = False

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class TransientDeliveryError(DeliveryError):
    """SMTP 4xx, a timeout, a refused or dropped connection, an HTTP 429/5xx: retry later."""


class PermanentDeliveryError(DeliveryError):
    """SMTP 5xx, an invalid address, an HTTP 4xx: retrying cannot help."""

    permanent = True


class MailTransport(Protocol):
    """Hands one e-mail to the relay; returns when the relay accepted it (250 after DATA).
    `before_data`, when given, is awaited right before DATA (see `BeforeData`)."""

    async def send(
        self, message: EmailMessage, *, before_data: BeforeData | None = None
    ) -> None: ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class SmsMessage:
    to: str
    text: str
    reference: str
    sender: str


class SmsGateway(Protocol):
    """Hands one SMS to the provider; returns when the provider accepted it."""

    async def send(self, message: SmsMessage) -> None: ...

    async def close(self) -> None: ...


class LinkSource(Protocol):
    """The link an event names by reference (an activation or reset link, a certificate's
    download link), asked for at send time. Raises `PermanentDeliveryError` when the link can
    no longer be used (nothing to send) and `TransientDeliveryError` when its owner cannot
    answer now. The link is never logged."""

    async def link_url(self, link_id: str) -> str: ...
