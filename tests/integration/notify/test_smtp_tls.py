"""notify's SMTP transport over TLS against a real aiosmtpd on 127.0.0.1: STARTTLS and implicit
TLS, with and without AUTH (PLAIN, LOGIN), the relay's certificate issued by a throwaway private
CA that notify is configured to trust. A wrong password, a certificate notify does not trust and
a relay demanding STARTTLS from a clear-text client are refused: nothing is delivered, nothing
is downgraded, and the failure is classified the way the sender retries it."""

from __future__ import annotations

import ipaddress
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from pathlib import Path
from typing import Any, Literal

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pydantic import ValidationError

from notify.ports import DeliveryError
from notify.settings import Settings
from notify.smtp import SmtpConfig, SmtpConfigurationError, SmtpTransport
from shared.clock import SystemClock
from tests.integration.notify.support import free_port

Mode = Literal["starttls", "implicit"]
USERNAME = "notify-relay"
PASSWORD = "relay-secret-7f3a"
RELAY_HOST = "127.0.0.1"


# --- a throwaway PKI ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Issuer:
    name: x509.Name
    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate


def _issuer(common_name: str) -> Issuer:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = SystemClock().now()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Issuer(name, key, certificate)


def _server_context(
    issuer: Issuer, names: list[x509.GeneralName], directory: Path
) -> ssl.SSLContext:
    """The relay's TLS context: a leaf certificate for `names`, signed by `issuer`."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = SystemClock().now()
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "smtp relay")]))
        .issuer_name(issuer.name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
        .sign(issuer.key, hashes.SHA256())
    )
    directory.mkdir(parents=True)
    chain = directory / "chain.pem"
    chain.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_file = directory / "key.pem"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(chain, key_file)
    return context


@dataclass(frozen=True)
class Pki:
    ca_file: Path  # the private CA notify is configured to trust
    trusted: ssl.SSLContext  # 127.0.0.1 and localhost, signed by that CA
    rogue: ssl.SSLContext  # the same names, signed by a CA notify does not trust
    misnamed: ssl.SSLContext  # signed by the trusted CA, for another host


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    directory = tmp_path_factory.mktemp("pki")
    ca = _issuer("SECURACT test relay CA")
    ca_file = directory / "ca.pem"
    ca_file.write_bytes(ca.certificate.public_bytes(serialization.Encoding.PEM))
    relay_names: list[x509.GeneralName] = [
        x509.IPAddress(ipaddress.ip_address(RELAY_HOST)),
        x509.DNSName("localhost"),
    ]
    return Pki(
        ca_file=ca_file,
        trusted=_server_context(ca, relay_names, directory / "trusted"),
        rogue=_server_context(_issuer("Someone else's CA"), relay_names, directory / "rogue"),
        misnamed=_server_context(ca, [x509.DNSName("relay.example.test")], directory / "other"),
    )


# --- the relay ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Arrival:
    tls_version: str | None  # of the session the message came over
    login: str | None
    rcpt_tos: tuple[str, ...]
    message: EmailMessage


@dataclass
class RecordingRelay:
    """aiosmtpd handler and authenticator: records every AUTH attempt and every message with
    the TLS version and login of the session it came over. With `require_login`, MAIL before a
    successful AUTH is refused."""

    require_login: bool
    auth_attempts: list[tuple[str, str]] = field(default_factory=list)  # (mechanism, login)
    arrivals: list[Arrival] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        login = data.login.decode()
        with self._lock:
            self.auth_attempts.append((mechanism, login))
        if login == USERNAME and data.password.decode() == PASSWORD:
            return AuthResult(success=True, auth_data=data)
        # handled=False: aiosmtpd answers "535 5.7.8 Authentication credentials invalid".
        return AuthResult(success=False, handled=False)

    async def handle_MAIL(  # noqa: N802 - aiosmtpd's hook name
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        if self.require_login and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        assert server.transport is not None
        ssl_object = server.transport.get_extra_info("ssl_object")
        data = session.auth_data
        login = data.login.decode() if isinstance(data, LoginPassword) else None
        parsed = BytesParser(policy=default_policy).parsebytes(envelope.original_content or b"")
        assert isinstance(parsed, EmailMessage)
        arrival = Arrival(
            tls_version=ssl_object.version() if ssl_object is not None else None,
            login=login,
            rcpt_tos=tuple(envelope.rcpt_tos),
            message=parsed,
        )
        with self._lock:
            self.arrivals.append(arrival)
        return "250 2.0.0 Accepted"

    def received(self) -> list[Arrival]:
        with self._lock:
            return list(self.arrivals)

    def logins(self) -> list[tuple[str, str]]:
        with self._lock:
            return list(self.auth_attempts)


@contextmanager
def relay_running(
    relay: RecordingRelay, mode: Mode, server_context: ssl.SSLContext, **smtp: Any
) -> Iterator[int]:
    """aiosmtpd in a thread on a free port of 127.0.0.1; yields the port."""
    port = free_port()
    options: dict[str, Any] = {"authenticator": relay.authenticate, **smtp}
    if mode == "starttls":
        # RFC 3207: nothing but EHLO/STARTTLS/QUIT before the upgrade; AUTH only once encrypted.
        options.update(tls_context=server_context, require_starttls=True, auth_require_tls=True)
    else:
        # aiosmtpd only counts a STARTTLS upgrade as TLS for `auth_require_tls`; here the
        # listening socket itself is TLS, so AUTH is offered (the arrivals record the TLS
        # version to prove the session was encrypted).
        options.update(ssl_context=server_context, auth_require_tls=False)
    controller = Controller(relay, hostname=RELAY_HOST, port=port, **options)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


# --- notify's side ------------------------------------------------------------------------------


def _transport(
    port: int, mode: Mode | None, ca_file: Path, *, password: str | None = PASSWORD
) -> SmtpTransport:
    return SmtpTransport(
        SmtpConfig(
            host=RELAY_HOST,
            port=port,
            starttls=mode == "starttls",
            implicit_tls=mode == "implicit",
            username=USERNAME if password is not None else None,
            password=password,
            timeout_seconds=3.0,
            connections=1,
            ca_file=ca_file,
        )
    )


def _message() -> EmailMessage:
    message = EmailMessage()
    message["From"] = "SECURACT <ne-pas-repondre@securact.fr>"
    message["To"] = "destinataire@example.fr"
    message["Subject"] = "Un acte vous attend"
    message["Message-ID"] = "<evt-0001.email@notify.securact.test>"
    message.set_content("Bonjour,\nun acte vous attend sur le portail.\n")
    return message


async def _refusal(transport: SmtpTransport) -> DeliveryError:
    try:
        with pytest.raises(DeliveryError) as refused:
            await transport.send(_message())
    finally:
        await transport.close()
    return refused.value


# --- deliveries ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "mechanism"),
    [
        ("starttls", "PLAIN"),
        ("starttls", "LOGIN"),
        ("starttls", None),
        ("implicit", "PLAIN"),
        ("implicit", "LOGIN"),
        ("implicit", None),
    ],
)
async def test_message_is_delivered_over_a_verified_tls_session(
    pki: Pki, mode: Mode, mechanism: str | None
) -> None:
    relay = RecordingRelay(require_login=mechanism is not None)
    # Offering a single mechanism makes the client use that one.
    excluded = [m for m in ("PLAIN", "LOGIN") if m != mechanism]
    with relay_running(relay, mode, pki.trusted, auth_exclude_mechanism=excluded) as port:
        transport = _transport(port, mode, pki.ca_file, password=PASSWORD if mechanism else None)
        try:
            await transport.send(_message())
            # The pooled connection is reused for a second message: still the same TLS session.
            second = _message()
            second.replace_header("Message-ID", "<evt-0002.email@notify.securact.test>")
            await transport.send(second)
        finally:
            await transport.close()
    arrivals = relay.received()
    assert [a.message["Message-ID"] for a in arrivals] == [
        "<evt-0001.email@notify.securact.test>",
        "<evt-0002.email@notify.securact.test>",
    ]
    assert all(a.tls_version in {"TLSv1.2", "TLSv1.3"} for a in arrivals)
    assert all(a.rcpt_tos == ("destinataire@example.fr",) for a in arrivals)
    if mechanism is None:
        assert relay.logins() == []
        assert all(a.login is None for a in arrivals)
    else:
        assert relay.logins() == [(mechanism, USERNAME)]  # one login for the pooled session
        assert all(a.login == USERNAME for a in arrivals)


# --- refusals -----------------------------------------------------------------------------------


async def test_wrong_password_is_a_configuration_error_retried_not_a_failed_notification(
    pki: Pki,
) -> None:
    relay = RecordingRelay(require_login=True)
    with relay_running(relay, "starttls", pki.trusted) as port:
        refusal = await _refusal(_transport(port, "starttls", pki.ca_file, password="wrong"))
    # 535 is the relay refusing *our* credentials: the recipient is not at fault, so no
    # notification-failed event; the bounded retries wait for an operator to fix the setting.
    assert isinstance(refusal, SmtpConfigurationError)
    assert refusal.permanent is False
    assert refusal.reason == "smtp 535 authentication failed"
    assert "wrong" not in refusal.reason
    # aiosmtplib tries every mechanism the relay offers before giving up.
    assert relay.logins() == [("PLAIN", USERNAME), ("LOGIN", USERNAME)]
    assert relay.received() == []


@pytest.mark.parametrize("mode", ["starttls", "implicit"])
async def test_certificate_from_an_untrusted_ca_is_refused_before_credentials_are_sent(
    pki: Pki, mode: Mode
) -> None:
    relay = RecordingRelay(require_login=True)
    with relay_running(relay, mode, pki.rogue) as port:
        refusal = await _refusal(_transport(port, mode, pki.ca_file))
    assert isinstance(refusal, SmtpConfigurationError)
    assert refusal.permanent is False
    assert refusal.reason.startswith("smtp tls certificate of the relay not trusted")
    assert "unable to get local issuer certificate" in refusal.reason
    assert relay.logins() == []  # the password never left notify
    assert relay.received() == []


@pytest.mark.parametrize("mode", ["starttls", "implicit"])
async def test_certificate_for_another_host_is_refused_even_from_the_trusted_ca(
    pki: Pki, mode: Mode
) -> None:
    relay = RecordingRelay(require_login=True)
    with relay_running(relay, mode, pki.misnamed) as port:
        refusal = await _refusal(_transport(port, mode, pki.ca_file))
    assert isinstance(refusal, SmtpConfigurationError)
    assert "mismatch" in refusal.reason
    assert relay.logins() == []
    assert relay.received() == []


async def test_system_trust_store_does_not_accept_the_private_ca_without_ca_file(
    pki: Pki,
) -> None:
    relay = RecordingRelay(require_login=False)
    with relay_running(relay, "implicit", pki.trusted) as port:
        transport = SmtpTransport(
            SmtpConfig(host=RELAY_HOST, port=port, implicit_tls=True, timeout_seconds=3.0)
        )
        refusal = await _refusal(transport)
    assert isinstance(refusal, SmtpConfigurationError)
    assert relay.received() == []


async def test_clear_text_client_is_told_the_relay_requires_starttls(pki: Pki) -> None:
    relay = RecordingRelay(require_login=False)
    with relay_running(relay, "starttls", pki.trusted) as port:
        refusal = await _refusal(_transport(port, None, pki.ca_file, password=None))
    assert isinstance(refusal, SmtpConfigurationError)
    assert refusal.permanent is False
    assert refusal.reason == "smtp 530 Must issue a STARTTLS command first"
    assert relay.received() == []


async def test_clear_text_client_with_credentials_never_sends_them(pki: Pki) -> None:
    relay = RecordingRelay(require_login=True)
    with relay_running(relay, "starttls", pki.trusted) as port:
        refusal = await _refusal(_transport(port, None, pki.ca_file))
    # The relay offers AUTH only after STARTTLS: the client stops instead of logging in.
    assert isinstance(refusal, SmtpConfigurationError)
    assert "AUTH extension is not supported" in refusal.reason
    assert relay.logins() == []
    assert relay.received() == []


# --- settings -----------------------------------------------------------------------------------


def test_ca_file_without_tls_is_refused_at_start(pki: Pki) -> None:
    with pytest.raises(ValidationError, match="smtp_ca_file is set but neither"):
        Settings(smtp_ca_file=pki.ca_file)


def test_missing_ca_file_is_refused_at_start(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="smtp_ca_file"):
        Settings(smtp_starttls=True, smtp_ca_file=tmp_path / "absent.pem")


def test_credentials_over_clear_text_are_refused_outside_dev() -> None:
    production: dict[str, Any] = {
        "env": "production",
        "allow_local_keys": True,
        "amqp_url": "amqp://notify:secret@rabbit.internal:5672/",
        "client_secret": "notify-client-secret",
        "smtp_username": USERNAME,
        "smtp_password": PASSWORD,
    }
    with pytest.raises(ValidationError, match="smtp credentials outside dev need"):
        Settings(**production)
    assert Settings(**production, smtp_starttls=True).smtp_starttls
    assert Settings(**{**production, "env": "dev"}).smtp_username == USERNAME


def test_settings_reach_the_transport_with_their_ca_file(pki: Pki, tmp_path: Path) -> None:
    from notify.main import smtp_transport
    from notify.settings import Settings

    settings = Settings(
        data_dir=tmp_path, smtp_host="127.0.0.1", smtp_starttls=True, smtp_ca_file=pki.ca_file
    )
    assert smtp_transport(settings).config.ca_file == pki.ca_file
