"""The platform's electronic seal: an ECDSA P-256 key and its X.509 certificate chain.

Evidence reports (PDF) are sealed with it (PAdES): PDF readers validate RSA and ECDSA P-256
signatures, not the Ed25519 of the JSON evidence. Production configures a qualified seal
certificate and its key (`load_seal`: a PEM chain, leaf first, and a 0600 PEM key). In dev,
`load_or_create_dev_seal` makes, at first start, a local test CA and a seal certificate it
issued, kept in one 0600 JSON file beside the other dev keys; its CA is the trust root a
verifier pins (it is no one's qualified certificate).
"""

from __future__ import annotations

import stat
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from shared.clock import Clock
from shared.crypto.errors import ConfigurationError
from shared.crypto.keyfile import create_private_json, read_private_json

DEV_FORMAT: Final = "securact-ng/dev-seal/v1"
DEV_CA_NAME: Final = "SECURACT-NG AC de test (dev, non qualifiée)"
DEV_SEAL_NAME: Final = "SECURACT-NG cachet de la plateforme (dev)"
_CA_LIFETIME: Final = timedelta(days=3650)
_SEAL_LIFETIME: Final = timedelta(days=825)


@dataclass(frozen=True)
class SealKey:
    """The seal's private key and its chain (leaf first; the root may be omitted)."""

    key: ec.EllipticCurvePrivateKey
    chain: tuple[x509.Certificate, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.key.curve, ec.SECP256R1):
            raise ConfigurationError("the seal key must be ECDSA P-256")
        if not self.chain:
            raise ConfigurationError("the seal has no certificate")
        public = self.chain[0].public_key()
        if not isinstance(public, ec.EllipticCurvePublicKey) or public.public_numbers() != (
            self.key.public_key().public_numbers()
        ):
            raise ConfigurationError("the seal certificate is not the seal key's")

    @property
    def certificate(self) -> x509.Certificate:
        return self.chain[0]

    def chain_pem(self) -> list[str]:
        """The chain as PEM strings (leaf first), for verifiers to pin its root."""
        return [c.public_bytes(serialization.Encoding.PEM).decode("ascii") for c in self.chain]

    def key_der(self) -> bytes:
        """PKCS#8 DER (what pyHanko's in-memory signer takes)."""
        return self.key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


def load_seal(certificate_file: Path, key_file: Path) -> SealKey:
    """A configured seal: `certificate_file` a PEM chain (leaf first), `key_file` a PEM key
    readable by its owner only."""
    if key_file.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigurationError(f"{key_file} is accessible by group or others; chmod 600 it")
    try:
        chain = tuple(x509.load_pem_x509_certificates(certificate_file.read_bytes()))
        key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    except ValueError as error:
        raise ConfigurationError(f"seal certificate or key unreadable: {error}") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ConfigurationError("the seal key must be ECDSA P-256")
    return SealKey(key, chain)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "SECURACT-NG"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _usage(*, sign_certificates: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not sign_certificates,
        content_commitment=not sign_certificates,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=sign_certificates,
        crl_sign=sign_certificates,
        encipher_only=False,
        decipher_only=False,
    )


def make_dev_seal(clock: Clock) -> tuple[SealKey, x509.Certificate]:
    """A fresh test CA and a seal certificate it issued: the seal, and the CA (trust root)."""
    now = clock.now() - timedelta(hours=1)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name(DEV_CA_NAME))
        .issuer_name(_name(DEV_CA_NAME))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + _CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(sign_certificates=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(_name(DEV_SEAL_NAME))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + _SEAL_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(sign_certificates=False), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return SealKey(key, (leaf, ca)), ca


def load_or_create_dev_seal(path: Path, clock: Clock) -> SealKey:
    """The dev seal in `path` (0600 JSON), made at first use. The CA's key is not kept: the
    dev CA issues this one certificate only."""
    if not path.exists():
        seal, _ = make_dev_seal(clock)
        pem = serialization.Encoding.PEM
        create_private_json(
            path,
            {
                "format": DEV_FORMAT,
                "key": seal.key.private_bytes(
                    pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                ).decode("ascii"),
                "chain": seal.chain_pem(),
            },
        )
    document = read_private_json(path)
    if document.get("format") != DEV_FORMAT:
        raise ConfigurationError(f"{path} is not a dev seal file")
    try:
        key = serialization.load_pem_private_key(str(document["key"]).encode(), password=None)
        chain = tuple(x509.load_pem_x509_certificate(c.encode()) for c in document["chain"])
    except (KeyError, TypeError, ValueError) as error:
        raise ConfigurationError(f"{path}: unreadable dev seal ({error})") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ConfigurationError(f"{path}: the seal key must be ECDSA P-256")
    return SealKey(key, chain)
