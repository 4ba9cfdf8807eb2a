"""The erasure certificate's download link, answered to notify when it sends the e-mail.

The link's path holds the download token, a credential: no event may carry it (audit journals
every event for years). Retention checks a download against the token's SHA-256 and keeps its
only other copy sealed under the platform's key ring: a random DEK per certificate, wrapped by
the KEK with the certificate's object id as associated data, and the token encrypted under it
(AES-256-GCM, associated data naming the same object id and the DEK id), so a sealed token
copied onto another certificate does not open. Notify exchanges the `certificate_id` of
`retention.erasure-certificate-issued.v2` for the link (`GET
/internal/v1/certificates/{certificate_id}/link`, scope `certificates:read`), renders, sends
and forgets it. The link is valid as long as the certificate can be downloaded with it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
from dataclasses import dataclass
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from retention.context import Context
from retention.records import SealedToken
from shared.crypto import IntegrityError, KeyNotFoundError, KeyRing
from shared.refusals import Refusal

CERTIFICATES_READ: Final = "certificates:read"
_DOMAIN: Final = b"securact-ng retention download token v1"
_NONCE_SIZE: Final = 12


class UnknownCertificate(Refusal, LookupError):  # noqa: N818 - a refusal, not a failure
    status = 404
    code = "certificate-not-found"
    title = "No certificate"

    def __init__(self) -> None:
        super().__init__("No certificate has this id.")


class LinkUnavailable(Refusal, LookupError):  # noqa: N818 - a refusal, not a failure
    """The certificate exists but its link cannot be given: issued before its token was kept
    sealed (the link went in the retired V1 event), or the sealed copy no longer opens or no
    longer matches the token downloads are checked against. Notify gives up (no retry)."""

    status = 410
    code = "certificate-link-unavailable"
    title = "Link unavailable"

    def __init__(self) -> None:
        super().__init__("This certificate's link cannot be given.")


@dataclass(frozen=True)
class DownloadLink:
    certificate_id: str
    url: str


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def download_url(public_url: str, certificate_id: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/v1/certificates/{certificate_id}/{token}.pdf"


def token_object_id(certificate_id: str) -> str:
    return f"retention/certificates/{certificate_id}/download-token"


def _associated_data(object_id: str, dek_id: bytes) -> bytes:
    oid = object_id.encode("utf-8")
    return _DOMAIN + struct.pack(">I", len(oid)) + oid + dek_id


async def seal_token(keys: KeyRing, certificate_id: str, token: str) -> SealedToken:
    object_id = token_object_id(certificate_id)
    key, wrapped = await keys.new_data_key(object_id)
    nonce = secrets.token_bytes(_NONCE_SIZE)
    ciphertext = AESGCM(key.material).encrypt(
        nonce, token.encode("ascii"), _associated_data(object_id, key.dek_id)
    )
    return SealedToken(
        wrapped=wrapped,
        nonce=base64.b64encode(nonce).decode("ascii"),
        ciphertext=base64.b64encode(ciphertext).decode("ascii"),
    )


async def open_token(keys: KeyRing, certificate_id: str, sealed: SealedToken) -> str:
    """The token; `LinkUnavailable` if the sealed value was moved or altered."""
    object_id = token_object_id(certificate_id)
    try:
        key = await keys.unwrap(sealed.wrapped, object_id)
        plaintext = AESGCM(key.material).decrypt(
            base64.b64decode(sealed.nonce),
            base64.b64decode(sealed.ciphertext),
            _associated_data(object_id, key.dek_id),
        )
    except (IntegrityError, KeyNotFoundError, InvalidTag, ValueError):
        raise LinkUnavailable from None
    return plaintext.decode("ascii")


class DownloadLinks:
    """Notify's use case: the download link of a certificate, while it downloads."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def link(self, certificate_id: str) -> DownloadLink:
        ctx = self.ctx
        certificate = await ctx.certificates.get(ctx.store, certificate_id)
        if certificate is None:
            raise UnknownCertificate
        if certificate.sealed_token is None:
            raise LinkUnavailable
        token = await open_token(ctx.keys, certificate_id, certificate.sealed_token)
        # The same check a download passes: a link that would not download is not given.
        if not hmac.compare_digest(certificate.token_sha256, hash_token(token)):
            raise LinkUnavailable
        return DownloadLink(
            certificate_id, download_url(ctx.policy.public_url, certificate_id, token)
        )
