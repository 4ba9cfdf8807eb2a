"""E-mail over SMTP with `aiosmtplib`: implicit TLS or STARTTLS, optional credentials, a small
pool of reused connections, and the classification of every failure as transient or permanent.

TLS always verifies the relay: its certificate must chain to the configured private CA (which
then replaces the system trust store) or, without one, to the system trust store, and must name
the configured host. There is no switch to turn verification off: a relay whose certificate does
not verify is a configuration error, retried like any transient failure and never downgraded to
a clear-text session.

A pooled connection that sat idle is probed with NOOP before a message goes over it: a relay
that dropped it meanwhile is noticed *before* the transaction starts, so the reconnect cannot
duplicate anything. Any failure during a transaction discards the connection.

`send(before_data=…)` calls its hook after the relay accepted the envelope (MAIL FROM, RCPT TO)
and right before DATA: notify records there that the message may be accepted from then on, so
that a crash before that point is known not to have transmitted anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr
from pathlib import Path
from typing import Final, Literal

import aiosmtplib
from aiosmtplib.response import SMTPResponse
from aiosmtplib.typing import Default

from notify.domain import redact
from notify.ports import BeforeData, DeliveryError, PermanentDeliveryError, TransientDeliveryError
from shared import metrics

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
    ca_file: Path | None = None
    tls_context: ssl.SSLContext | None = None  # overrides `ca_file` (tests, exotic setups)

    def __post_init__(self) -> None:
        if self.starttls and self.implicit_tls:
            raise ValueError("STARTTLS and implicit TLS exclude each other")


class SmtpConfigurationError(TransientDeliveryError):
    """The relay and our settings disagree (credentials refused, TLS required or unverifiable):
    no recipient is at fault and the relay may be fixed at any moment, so it is transient (the
    bounded retries wait for the operator) rather than a permanent failure of the notification.
    """


# RFC 4954 and RFC 3207 codes about *our* session, not the message or its recipient: 530
# authentication or STARTTLS required, 534 mechanism too weak, 535 credentials invalid, 538
# encryption required for the mechanism.
_SESSION_CODES: Final = frozenset({530, 534, 535, 538})


def client_tls_context(ca_file: Path | None) -> ssl.SSLContext:
    """A client context that verifies the relay's certificate and host name, TLS 1.2 at least.

    With `ca_file` (PEM), only the CA(s) it holds are trusted: a private relay's certificate is
    checked against its own CA, not against every public CA.
    """
    context = ssl.create_default_context(
        ssl.Purpose.SERVER_AUTH, cafile=str(ca_file) if ca_file is not None else None
    )
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def classify(error: BaseException) -> DeliveryError:
    """SMTP 4xx, timeouts and connection trouble are transient; so are the relay's refusals of
    our session (credentials, STARTTLS, an untrusted certificate), which an operator fixes. 5xx
    about the message or its recipients are permanent."""
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        codes = [refused.code for refused in error.recipients]
        worst = max(codes, default=550)
        texts = "; ".join(redact(refused.message) for refused in error.recipients)
        return _by_code(worst, f"smtp {worst} recipient refused: {texts}")
    if isinstance(error, aiosmtplib.SMTPAuthenticationError):
        # Our credentials, not the recipient: an operator fixes it, the bounded retries wait.
        return SmtpConfigurationError(f"smtp {error.code} authentication failed")
    if isinstance(error, aiosmtplib.SMTPResponseException) and error.code in _SESSION_CODES:
        return SmtpConfigurationError(f"smtp {error.code} {redact(error.message)}")
    certificate = _certificate_failure(error)
    if certificate is not None:
        return SmtpConfigurationError(
            f"smtp tls certificate of the relay not trusted ({redact(certificate)})"
        )
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
    if type(error) is aiosmtplib.SMTPException:
        # aiosmtplib's own refusals to go on: STARTTLS or AUTH asked of a relay without them.
        return SmtpConfigurationError(f"smtp session refused: {redact(str(error))}")
    return TransientDeliveryError(f"smtp error ({type(error).__name__})")


def _certificate_failure(error: BaseException) -> str | None:
    """The verification message when `error` is, or was caused by, a rejected certificate
    (aiosmtplib wraps it in `SMTPConnectError` for implicit TLS, not for STARTTLS)."""
    seen: BaseException | None = error
    for _ in range(8):  # a chain is short; the bound guards against a cyclic one
        if seen is None:
            break
        if isinstance(seen, ssl.SSLCertVerificationError):
            return str(seen.verify_message or seen.reason or "verification failed")
        seen = seen.__cause__ or seen.__context__
    return None


def _by_code(code: int, reason: str) -> DeliveryError:
    if 400 <= code < 500:
        return TransientDeliveryError(reason)
    if 500 <= code < 600:
        return PermanentDeliveryError(reason)
    return TransientDeliveryError(reason)


def _envelope(message: EmailMessage) -> tuple[str | None, list[str] | None]:
    """MAIL FROM and RCPT TO read from the From and To headers as written (aiosmtplib would
    parse every address header again); (None, None), aiosmtplib's own reading, when another
    header could change them (Sender, Cc, Bcc, Resent-*)."""
    sender = recipients = None
    for name, value in message.raw_items():
        key = name.lower()
        if key == "from":
            sender = str(value)
        elif key == "to":
            recipients = str(value)
        elif key in ("sender", "cc", "bcc") or key.startswith("resent-"):
            return None, None
    if sender is None or recipients is None:
        return None, None
    address = parseaddr(sender)[1]
    addresses = [address for _, address in getaddresses([recipients]) if address]
    if not address or not addresses:
        return None, None
    return address, addresses


class _Client(aiosmtplib.SMTP):
    """aiosmtplib's client with a hook between the envelope (MAIL, RCPT) and DATA, so that
    notify can record durably that the message may be accepted from now on."""

    before_data: BeforeData | None = None

    async def data(
        self,
        message: str | bytes,
        /,
        *,
        timeout: float | Literal[Default.token] | None = Default.token,  # noqa: ASYNC109 - the overridden signature
    ) -> SMTPResponse:
        hook, self.before_data = self.before_data, None
        if hook is not None:
            await hook()
        return await super().data(message, timeout=timeout)


class _Connection:
    def __init__(self, client: _Client, loop: asyncio.AbstractEventLoop) -> None:
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
        self._tls_context = config.tls_context
        if self._tls_context is None and (config.starttls or config.implicit_tls):
            self._tls_context = client_tls_context(config.ca_file)
        self._slots = asyncio.Semaphore(config.connections)
        self._idle: list[_Connection] = []

    @property
    def config(self) -> SmtpConfig:
        return self._config

    async def send(self, message: EmailMessage, *, before_data: BeforeData | None = None) -> None:
        async with self._slots:
            try:
                connection = await self._connection()
            except (aiosmtplib.SMTPException, OSError, UnicodeError) as error:
                raise classify(error) from None
            connection.client.before_data = before_data
            try:
                sender, recipients = _envelope(message)
                _, _response = await connection.client.send_message(
                    message, sender=sender, recipients=recipients
                )
            except (aiosmtplib.SMTPException, OSError, UnicodeError) as error:
                await self._discard(connection)
                raise classify(error) from None
            except BaseException:
                # Also the hook's own failure: the envelope is open on the relay, start afresh.
                await self._discard(connection)
                raise
            finally:
                connection.client.before_data = None
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
        client = _Client(
            hostname=config.host,
            port=config.port,
            username=config.username,
            password=config.password,
            timeout=config.timeout_seconds,
            use_tls=config.implicit_tls,
            start_tls=config.starttls,
            tls_context=self._tls_context,
        )
        await client.connect()
        self._note_certificate(client)
        return _Connection(client, asyncio.get_running_loop())

    def _note_certificate(self, client: _Client) -> None:
        """Keep the relay's certificate expiry for the `smtp.certificate.expiry` gauge (an
        alert fires weeks before it lapses: then every notification would wait for it)."""
        try:
            peer = client.get_transport_info("peercert")
        except Exception:
            return
        not_after = peer.get("notAfter") if isinstance(peer, dict) else None
        if not isinstance(not_after, str):
            return
        expiry = metrics.Sample(
            "smtp_certificate_expiry",
            ssl.cert_time_to_seconds(not_after),
            {"server.address": self._config.host},
        )
        metrics.current().gauges.live(f"smtp-certificate:{self._config.host}", lambda: [expiry])

    async def _discard(self, connection: _Connection) -> None:
        with contextlib.suppress(Exception):
            connection.client.close()

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.client.quit(), 2)
            await self._discard(connection)
