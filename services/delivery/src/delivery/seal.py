"""Sealing an evidence report (PAdES, pyHanko) and verifying a sealed one offline.

`ReportSealer.seal` signs the PDF with the platform's ECDSA P-256 seal (PAdES baseline, its
signature timestamped), then adds a document timestamp from the configured TSA (RFC 3161):
two incremental revisions over the report fpdf2 wrote.

`verify_report` checks a saved report against pinned roots only (the seal's CA, the TSA's
chain) and names the first check that fails, in this order:

- `format`: not a readable PDF, or no seal / no document timestamp in it;
- `signatures`: the seal's or the timestamp's CMS is unreadable (altered);
- `seal`: the sealed bytes were altered, the signature does not verify, its certificate does
  not chain to a pinned root, or the document was changed after it beyond the timestamp;
- `document timestamp`: altered, not by the pinned TSA, or not covering the whole file;
- `attachment`: no `preuves.json`, or it is not a valid evidence set for the given keys.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from io import BytesIO
from typing import Any, Final

import httpx
from asn1crypto import cms, tsp
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from pyhanko.sign.validation import async_validate_pdf_signature, async_validate_pdf_timestamp
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from delivery.evidence import EvidenceVerificationError, verify_evidence_set
from delivery.report_pdf import ATTACHMENT_NAME, SealIdentity
from shared.crypto import VerifierKey
from shared.crypto.seal import SealKey
from shared.jsondoc import JsonObject

SEAL_FIELD: Final = "CachetSECURACT"
REPLY_TYPE: Final = "application/timestamp-reply"
TSA_TIMEOUT: Final = httpx.Timeout(10.0, connect=3.0)


class TimestampUnavailableError(Exception):
    """The TSA did not answer with a timestamp (down, refused, malformed)."""


class HttpxTimeStamper(TimeStamper):
    """pyHanko's RFC 3161 client over httpx (async, no thread per request)."""

    def __init__(self, url: str, http: httpx.AsyncClient | None = None) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.url = url
        self._http = http

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        try:
            if self._http is not None:
                reply = await self._post(self._http, req)
            else:
                async with httpx.AsyncClient(timeout=TSA_TIMEOUT) as http:
                    reply = await self._post(http, req)
        except httpx.HTTPError as error:
            raise TimestampRequestError(f"TSA unreachable: {type(error).__name__}") from None
        if reply.status_code != 200 or reply.headers.get("content-type") != REPLY_TYPE:
            raise TimestampRequestError(f"TSA answered {reply.status_code}")
        return tsp.TimeStampResp.load(reply.content)

    async def _post(self, http: httpx.AsyncClient, req: tsp.TimeStampReq) -> httpx.Response:
        return await http.post(
            self.url,
            content=req.dump(),
            headers={"Content-Type": "application/timestamp-query"},
            timeout=TSA_TIMEOUT,
        )


def asn1_certificate(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


def _readable(name: x509.Name) -> str:
    """'SECURACT-NG cachet … (dev), SECURACT-NG, FR': the name's values, most specific first."""
    return ", ".join(str(attribute.value) for attribute in reversed(list(name)))


class ReportSealer:
    """Seals reports with the platform's seal and timestamps them at the configured TSA."""

    def __init__(self, seal: SealKey, tsa_url: str, http: httpx.AsyncClient | None = None):
        self._seal = seal
        self.tsa_url = tsa_url
        self._timestamper = HttpxTimeStamper(tsa_url, http)
        chain = [asn1_certificate(c) for c in seal.chain]
        self._signer = signers.SimpleSigner(
            signing_cert=chain[0],
            signing_key=asn1_keys.PrivateKeyInfo.load(seal.key_der()),
            cert_registry=SimpleCertificateStore.from_certs(chain),  # type: ignore[no-untyped-call]
        )

    @property
    def identity(self) -> SealIdentity:
        certificate = self._seal.certificate
        return SealIdentity(
            subject=_readable(certificate.subject),
            issuer=_readable(certificate.issuer),
            serial=f"{certificate.serial_number:x}",
            tsa_url=self.tsa_url,
        )

    @property
    def root(self) -> x509.Certificate:
        """The last certificate of the seal's chain (in dev, the test CA verifiers pin)."""
        return self._seal.chain[-1]

    @property
    def chain_pem(self) -> list[str]:
        return self._seal.chain_pem()

    async def seal(self, pdf: bytes) -> bytes:
        """`pdf` sealed (PAdES, signature timestamp) then document-timestamped."""
        meta = signers.PdfSignatureMetadata(
            field_name=SEAL_FIELD,
            md_algorithm="sha256",
            subfilter=fields.SigSeedSubFilter.PADES,
            reason="Cachet de la plateforme SECURACT-NG sur le rapport de preuve",
            location="SECURACT-NG",
        )
        try:
            sealed = await signers.PdfSigner(
                meta, self._signer, timestamper=self._timestamper
            ).async_sign_pdf(IncrementalPdfFileWriter(BytesIO(pdf)))
            stamped = await signers.PdfTimeStamper(self._timestamper).async_timestamp_pdf(
                IncrementalPdfFileWriter(sealed), md_algorithm="sha256"
            )
        except TimestampRequestError as error:
            raise TimestampUnavailableError(str(error)) from None
        return bytes(stamped.getvalue())


class ReportVerificationError(ValueError):
    """A sealed report does not verify; `stage` names the check that failed."""

    def __init__(self, stage: str, detail: str) -> None:
        super().__init__(f"{stage}: {detail}")
        self.stage = stage


@dataclass(frozen=True)
class VerifiedReport:
    seal_subject: str
    signed_at: str
    timestamped_at: str
    evidence: JsonObject  # the attached `preuves.json`, verified as signed
    types: list[str]


def _context(roots: Sequence[x509.Certificate], others: Sequence[x509.Certificate] = ()) -> Any:
    # Pinned roots only, no network: a dev seal has no revocation service (soft-fail).
    return ValidationContext(
        trust_roots=[asn1_certificate(c) for c in roots],
        other_certs=[asn1_certificate(c) for c in others],
        allow_fetching=False,
        revocation_mode="soft-fail",
    )


def _attachment(reader: PdfFileReader) -> bytes:
    try:
        names = reader.root["/Names"]["/EmbeddedFiles"]["/Names"]
    except KeyError:
        raise ReportVerificationError("attachment", f"no {ATTACHMENT_NAME} in the report") from None
    for position in range(0, len(names), 2):
        if str(names[position]) == ATTACHMENT_NAME:
            spec = names[position + 1].get_object()
            return bytes(spec["/EF"]["/F"].get_object().data)
    raise ReportVerificationError("attachment", f"no {ATTACHMENT_NAME} in the report")


_HEX: Final = re.compile(rb"<([0-9A-F]*)>")


def _der_length(raw: bytes) -> int:
    """The length of the DER value at the start of `raw` (header included)."""
    if len(raw) < 2:
        return len(raw) + 1
    if raw[1] < 0x80:
        return 2 + raw[1]
    size = raw[1] & 0x7F
    return 2 + size + int.from_bytes(raw[2 : 2 + size], "big")


def _check_unsigned_gap(data: bytes, embedded: Any) -> None:
    """The one span no signature covers is each signature's own /Contents: it must be exactly
    the CMS in uppercase hex (as pyHanko writes it), then zero padding; any other byte there
    is a change (even a hex digit's case, which would not change the value)."""
    _, first, start, _ = (int(v) for v in embedded.byte_range)
    found = _HEX.fullmatch(data[first:start])
    raw = bytes.fromhex(found.group(1).decode("ascii")) if found else b""
    end = _der_length(raw)
    if not found or end > len(raw) or raw[end:].strip(b"\0"):
        raise ReportVerificationError("signatures", "bytes were changed in a signature's value")


_NULL: Final = (b"", b"\x05\x00")


def _only(algorithm: Any) -> bytes:
    """The DER of the digest algorithm list naming just `algorithm`."""
    return bytes(cms.DigestAlgorithms([cms.DigestAlgorithm.load(algorithm.dump())]).dump())


def _signed_data_version(signed_data: Any, signer: Any) -> str:
    """RFC 5652 §5.1: v3 for a content other than id-data (a timestamp token), else v1 (a
    signer named by issuer and serial, no attribute certificates)."""
    data = signed_data["encap_content_info"]["content_type"].native == "data"
    return "v1" if data and signer["sid"].name == "issuer_and_serial_number" else "v3"


def _check_unsigned_fields(embedded: Any) -> None:
    """A CMS carries fields its signature does not cover and a validator ignores: the
    SignedData's digest algorithm list, the SignerInfo's version, the digest algorithm's
    parameters. They must be exactly what the signer's own fields imply, so a changed byte there
    is a change detected, not a silent one."""
    signed_data = embedded.signed_data
    signer = embedded.signer_info
    algorithm = signer["digest_algorithm"]
    version = signer["version"]
    if (
        signed_data["digest_algorithms"].dump() != _only(algorithm)
        or algorithm["parameters"].dump() not in _NULL
        or version.dump() != version.dump(force=True)
        or version.native != "v1"
        or signed_data["version"].native != _signed_data_version(signed_data, signer)
    ):
        raise ReportVerificationError("signatures", "bytes were changed in a signature's value")


def _check_signer_id(embedded: Any, certificate: Any, stage: str) -> None:
    """A CMS names its signer outside what it signs: it must name the certificate that
    verified (the last timestamp's CMS is covered by nothing else)."""
    sid = embedded.signer_info["sid"]
    if sid.name != "issuer_and_serial_number" or (
        sid.chosen["issuer"] != certificate.issuer
        or sid.chosen["serial_number"].native != certificate.serial_number
    ):
        raise ReportVerificationError(stage, "the signer it names is not the one that signed")


async def verify_report(
    data: bytes,
    *,
    seal_roots: Sequence[x509.Certificate],
    tsa_roots: Sequence[x509.Certificate],
    tsa_intermediates: Sequence[x509.Certificate] = (),
    keys: Sequence[VerifierKey],
) -> VerifiedReport:
    """Verify a sealed evidence report offline; raises `ReportVerificationError`."""
    try:
        reader = PdfFileReader(BytesIO(data), strict=False)
        reader.root  # noqa: B018 - parses the trailer and catalog
    except Exception as error:
        raise ReportVerificationError("format", f"not a readable PDF ({error})") from None
    try:
        signatures = reader.embedded_regular_signatures
        stamps = reader.embedded_timestamp_signatures
        for embedded in (*signatures, *stamps):
            _check_unsigned_gap(data, embedded)
            _check_unsigned_fields(embedded)
    except ReportVerificationError:
        raise
    except Exception as error:
        raise ReportVerificationError(
            "signatures", f"the seal or the timestamp is unreadable ({error})"
        ) from None
    if len(signatures) != 1:
        raise ReportVerificationError("format", f"{len(signatures)} seal(s), expected 1")
    if not stamps:
        raise ReportVerificationError("format", "no document timestamp")
    tsa = _context(tsa_roots, tsa_intermediates)
    try:
        status = await async_validate_pdf_signature(
            signatures[0],
            signer_validation_context=_context(seal_roots),
            ts_validation_context=tsa,
        )
    except Exception as error:
        raise ReportVerificationError("seal", f"cannot be validated ({error!r})") from None
    if not status.intact:
        raise ReportVerificationError("seal", "the sealed bytes were altered")
    if not status.valid:
        raise ReportVerificationError("seal", "the signature does not verify")
    if not status.trusted:
        raise ReportVerificationError("seal", "the certificate is not issued by a pinned root")
    if status.coverage is not SignatureCoverageLevel.ENTIRE_REVISION or (status.docmdp_ok is False):
        raise ReportVerificationError("seal", "the document was changed after it was sealed")
    stamp = stamps[-1]
    try:
        stamp_status = await async_validate_pdf_timestamp(stamp, validation_context=tsa)
    except Exception as error:
        raise ReportVerificationError(
            "document timestamp", f"cannot be validated ({error!r})"
        ) from None
    if not stamp_status.intact:
        raise ReportVerificationError("document timestamp", "the timestamped bytes were altered")
    if not stamp_status.valid:
        raise ReportVerificationError("document timestamp", "the token does not verify")
    if not stamp_status.trusted:
        raise ReportVerificationError("document timestamp", "not issued by the pinned TSA")
    _check_signer_id(signatures[0], status.signing_cert, "seal")
    _check_signer_id(stamp, stamp_status.signing_cert, "document timestamp")
    if stamp_status.coverage is not SignatureCoverageLevel.ENTIRE_FILE:
        raise ReportVerificationError(
            "document timestamp", "does not cover the whole file (bytes were added after it)"
        )
    try:
        evidence = json.loads(_attachment(reader))
    except ValueError:
        raise ReportVerificationError("attachment", f"{ATTACHMENT_NAME} is not JSON") from None
    if not isinstance(evidence, dict):
        raise ReportVerificationError("attachment", f"{ATTACHMENT_NAME} is not a JSON object")
    try:
        types = verify_evidence_set(evidence, keys)
    except EvidenceVerificationError as error:
        raise ReportVerificationError("attachment", str(error)) from None
    return VerifiedReport(
        seal_subject=status.signing_cert.subject.human_friendly,
        signed_at=str(status.timestamp_validity.timestamp if status.timestamp_validity else ""),
        timestamped_at=str(stamp_status.timestamp),
        evidence=evidence,
        types=types,
    )
