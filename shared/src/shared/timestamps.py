"""RFC 3161 trusted timestamps: ask a TSA for a token over a message, verify a token offline.

A timestamp reply (`application/timestamp-reply`, the DER `TimeStampResp`) is kept as the TSA
sent it; it is verified against a *pinned* chain (a PEM bundle chosen by configuration: the
TSA's root and any intermediates), never against the certificates the reply carries alone.

Verification names the first check that fails, in this order:

- `format`: not a DER timestamp reply;
- `status`: the TSA did not grant it;
- `imprint`: the token is not over SHA-256 of this message;
- `chain`: the signing certificate is not issued, through the pinned chain, by a pinned root,
  is not a critical id-kp-timeStamping certificate, or was not valid at the token's time;
- `signature`: the token's CMS signature does not verify (a tampered token).

Parsing and CMS verification are `rfc3161-client`'s (a maintained library, also used by
sigstore); this module only orders the checks so a failure says what failed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final, Literal

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.x509.oid import ExtendedKeyUsageOID
from rfc3161_client import (
    HashAlgorithm,
    PKIStatus,
    TimestampRequestBuilder,
    TimeStampResponse,
    VerificationError,
    VerifierBuilder,
    decode_timestamp_response,
)

QUERY_TYPE: Final = "application/timestamp-query"
REPLY_TYPE: Final = "application/timestamp-reply"
SHA256_OID: Final = x509.ObjectIdentifier("2.16.840.1.101.3.4.2.1")
# A chain is a few certificates; a longer walk means a loop or a hostile bundle.
_MAX_CHAIN: Final = 8

Stage = Literal["format", "status", "imprint", "chain", "signature", "nonce", "transport"]


class TimestampError(Exception):
    """A timestamp could not be obtained or does not verify; `stage` says which check failed."""

    def __init__(self, stage: Stage, detail: str) -> None:
        super().__init__(f"{stage}: {detail}")
        self.stage = stage
        self.detail = detail


@dataclass(frozen=True)
class TsaTrust:
    """The pinned TSA chain: self-signed roots and the intermediates between them and the TSA."""

    roots: tuple[x509.Certificate, ...]
    intermediates: tuple[x509.Certificate, ...] = ()

    @classmethod
    def from_pem(cls, data: bytes) -> TsaTrust:
        """From a PEM bundle; every self-signed certificate in it is a root."""
        try:
            certificates = x509.load_pem_x509_certificates(data)
        except ValueError as error:
            raise ValueError(f"not a PEM certificate bundle: {error}") from None
        roots = tuple(c for c in certificates if _self_signed(c))
        if not roots:
            raise ValueError("the TSA chain bundle has no self-signed root")
        return cls(roots, tuple(c for c in certificates if not _self_signed(c)))

    @classmethod
    def from_file(cls, path: Path) -> TsaTrust:
        return cls.from_pem(path.read_bytes())

    def issuer_of(self, certificate: x509.Certificate) -> x509.Certificate | None:
        for candidate in (*self.intermediates, *self.roots):
            if candidate.subject != certificate.issuer:
                continue
            try:
                certificate.verify_directly_issued_by(candidate)
            except (ValueError, TypeError, InvalidSignature):
                continue
            return candidate
        return None


def _self_signed(certificate: x509.Certificate) -> bool:
    if certificate.subject != certificate.issuer:
        return False
    try:
        certificate.verify_directly_issued_by(certificate)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


@dataclass(frozen=True)
class VerifiedTimestamp:
    """What a verified token attests: `message_digest` existed at `time` (per `tsa`)."""

    time: datetime
    serial_number: int
    message_digest: bytes
    tsa: str


def timestamp_request(message: bytes) -> tuple[bytes, int]:
    """A DER TimeStampReq over SHA-256 of `message` asking for the TSA's certificate, and its
    nonce (to match the reply)."""
    request = (
        TimestampRequestBuilder()
        .data(message)
        .hash_algorithm(HashAlgorithm.SHA256)
        .cert_request(cert_request=True)
        .nonce(nonce=True)
        .build()
    )
    nonce = request.nonce
    if nonce is None:  # the builder was asked for one
        raise RuntimeError("timestamp request built without a nonce")
    return request.as_bytes(), nonce


async def fetch_timestamp(
    client: httpx.AsyncClient, url: str, message: bytes, trust: TsaTrust
) -> tuple[bytes, VerifiedTimestamp]:
    """Ask the TSA at `url` for a token over `message`; the reply is verified (pinned chain,
    imprint, nonce) before it is returned, so a bad TSA answer is never kept."""
    body, nonce = timestamp_request(message)
    try:
        response = await client.post(url, content=body, headers={"Content-Type": QUERY_TYPE})
    except httpx.HTTPError as error:
        raise TimestampError("transport", f"TSA unreachable: {type(error).__name__}") from None
    if response.status_code != 200:
        raise TimestampError("transport", f"TSA answered HTTP {response.status_code}")
    reply = response.content
    verified = verify_timestamp(reply, message, trust)
    if _decode(reply).tst_info.nonce != nonce:
        raise TimestampError("nonce", "the reply is not for this request")
    return reply, verified


def stated_time(reply: bytes) -> datetime:
    """The time a timestamp reply states, unverified: for showing beside a receipt whose
    verification (`verify_timestamp`) is the reader's to run."""
    time = _decode(reply).tst_info.gen_time
    return (time if time.tzinfo else time.replace(tzinfo=UTC)).astimezone(UTC)


def _decode(reply: bytes) -> TimeStampResponse:
    try:
        return decode_timestamp_response(reply)
    except ValueError as error:
        raise TimestampError("format", f"not a timestamp reply ({error})") from None


def verify_timestamp(reply: bytes, message: bytes, trust: TsaTrust) -> VerifiedTimestamp:
    """Verify a DER timestamp reply over `message` against the pinned chain; TimestampError
    naming the failed check otherwise."""
    response = _decode(reply)
    if PKIStatus(response.status) != PKIStatus.GRANTED:
        raise TimestampError("status", f"the TSA did not grant it (status {response.status})")
    info = response.tst_info
    imprint = info.message_imprint
    if imprint.hash_algorithm != SHA256_OID:
        raise TimestampError("imprint", f"imprint is not SHA-256 ({imprint.hash_algorithm})")
    digest = hashlib.sha256(message).digest()
    if imprint.message != digest:
        raise TimestampError("imprint", "the token is over another message")
    leaf = _signer_certificate(response)
    _check_chain(leaf, trust, info.gen_time)
    verifier = VerifierBuilder(
        tsa_certificate=leaf, intermediates=list(trust.intermediates), roots=list(trust.roots)
    ).build()
    try:
        verifier.verify(response, digest)
    except VerificationError as error:
        # The chain and the imprint checked out above: what is left is the CMS signature.
        raise TimestampError("signature", str(error)) from None
    return VerifiedTimestamp(
        info.gen_time, info.serial_number, digest, leaf.subject.rfc4514_string()
    )


def _signer_certificate(response: TimeStampResponse) -> x509.Certificate:
    signers = response.signed_data.signer_infos
    if len(signers) != 1:
        raise TimestampError("format", f"expected one signer, found {len(signers)}")
    signer = next(iter(signers))
    for der in response.signed_data.certificates:
        certificate = x509.load_der_x509_certificate(der)
        if (
            certificate.issuer == signer.issuer
            and certificate.serial_number == signer.serial_number
        ):
            return certificate
    raise TimestampError("chain", "the reply does not carry its signing certificate")


def _check_chain(leaf: x509.Certificate, trust: TsaTrust, at: datetime) -> None:
    try:
        usage = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except x509.ExtensionNotFound:
        raise TimestampError("chain", "the signing certificate is not a TSA's") from None
    if not usage.critical or ExtendedKeyUsageOID.TIME_STAMPING not in usage.value:
        raise TimestampError("chain", "the signing certificate is not a TSA's")
    chain: list[x509.Certificate] = [leaf]
    current = leaf
    while current not in trust.roots:
        issuer = trust.issuer_of(current)
        if issuer is None or len(chain) > _MAX_CHAIN:
            raise TimestampError(
                "chain", f"{current.subject.rfc4514_string()} is not issued by the pinned chain"
            )
        chain.append(issuer)
        current = issuer
    for certificate in chain:
        if not certificate.not_valid_before_utc <= at <= certificate.not_valid_after_utc:
            raise TimestampError(
                "chain", f"{certificate.subject.rfc4514_string()} was not valid at {at}"
            )
