"""E-mail over SMTP with `aiosmtplib`: implicit TLS or STARTTLS, optional credentials, a small
pool of reused connections, and the classification of every failure as transient or permanent.

A pooled connection that sat idle is probed with NOOP before a message goes over it: a relay
that dropped it meanwhile is noticed *before* the transaction starts, so the reconnect cannot
duplicate anything. Any failure during a transaction discards the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Final

import aiosmtplib

from notify.domain import redact
from notify.ports import DeliveryError, PermanentDeliveryError, TransientDeliveryError

log = logging.getLogger(__name__)

PROBE_AFTER_IDLE_SECONDS: Final = 10.0


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    starttls: bool = False
    implicit_tls: bool = False
    username: str | None = None
    password: str | None = None
    timeout_seconds: float = 30.0
    connections: int = 4
    tls_context: ssl.SSLContext | None = None


def classify(error: BaseException) -> DeliveryError:
    """SMTP 4xx, timeouts and connection trouble are transient; 5xx are permanent."""
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        codes = [refused.code for refused in error.recipients]
        worst = max(codes, default=550)
        texts = "; ".join(redact(refused.message) for refused in error.recipients)
        return _by_code(worst, f"smtp {worst} recipient refused: {texts}")
    if isinstance(error, aiosmtplib.SMTPAuthenticationError):
        # Our credentials, not the recipient: an operator fixes it, the bounded retries wait.
        return TransientDeliveryError(f"smtp {error.code} authentication failed")
    if isinstance(error, aiosmtplib.SMTPResponseException) and not isinstance(
        error, aiosmtplib.SMTPServerDisconnected
    ):
        return _by_code(error.code, f"smtp {error.code} {redact(error.message)}")
    if isinstance(error, TimeoutError):
        return TransientDeliveryError("smtp timeout")
    if isinstance(error, aiosmtplib.SMTPServerDisconnected):
        return TransientDeliveryError("smtp connection lost")
    if isinstance(error, OSError):
        return TransientDeliveryError(f"smtp connection failed ({type(error).__name__})")
    if isinstance(error, aiosmtplib.SMTPNotSupported):
        return TransientDeliveryError("smtp relay lacks a required extension")
    if isinstance(error, UnicodeError):
        return PermanentDeliveryError("address or header not encodable for this relay")
    return TransientDeliveryError(f"smtp error ({type(error).__name__})")


def _by_code(code: int, reason: str) -> DeliveryError:
    if 400 <= code < 500:
        return TransientDeliveryError(reason)
    if 500 <= code < 600:
        return PermanentDeliveryError(reason)
    return TransientDeliveryError(reason)


class _Connection:
    def __init__(self, client: aiosmtplib.SMTP, loop: asyncio.AbstractEventLoop) -> None:
        self.client = client
        self._loop = loop
        self.last_used = loop.time()

    def touch(self) -> None:
        self.last_used = self._loop.time()

    def idle_for(self) -> float:
        return self._loop.time() - self.last_used


class SmtpTransport:
    """`MailTransport` over SMTP with up to `connections` concurrent sessions."""

    def __init__(self, config: SmtpConfig) -> None:
        self._config = config
        self._slots = asyncio.Semaphore(config.connections)
        self._idle: list[_Connection] = []

    async def send(self, message: EmailMessage) -> None:
        async with self._slots:
            try:
                connection = await self._connection()
            except (aiosmtplib.SMTPException, OSError, UnicodeError) as error:
                raise classify(error) from None
            try:
                _, _response = await connection.client.send_message(message)
            except (aiosmtplib.SMTPException, OSError, UnicodeError) as error:
                await self._discard(connection)
                raise classify(error) from None
            except BaseException:
                await self._discard(connection)
                raise
            connection.touch()
            self._idle.append(connection)

    async def _connection(self) -> _Connection:
        while self._idle:
            connection = self._idle.pop()
            if not connection.client.is_connected:
                continue
            if connection.idle_for() < PROBE_AFTER_IDLE_SECONDS:
                return connection
            try:
                await connection.client.noop()
            except (aiosmtplib.SMTPException, OSError):
                await self._discard(connection)
                continue
            return connection
        return await self._connect()

    async def _connect(self) -> _Connection:
        config = self._config
        client = aiosmtplib.SMTP(
            hostname=config.host,
            port=config.port,
            username=config.username,
            password=config.password,
            timeout=config.timeout_seconds,
            use_tls=config.implicit_tls,
            start_tls=config.starttls,
            tls_context=config.tls_context,
        )
        await client.connect()
        return _Connection(client, asyncio.get_running_loop())

    async def _discard(self, connection: _Connection) -> None:
        with contextlib.suppress(Exception):
            connection.client.close()

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.client.quit(), 2)
            await self._discard(connection)
