"""The one place services turn their settings into a KEK source and a signing key ring.

`keys=file` (the dev default): the 0600 JSON files `kek_file` and `signing_key_file`.
`keys=pkcs11`: a PKCS#11 token (`pkcs11_module`, `pkcs11_token_label`, PIN from `pkcs11_pin` or
`pkcs11_pin_file`), every key of the service under the labels `<pkcs11_label_prefix>/...`;
replicas on several hosts share the token's keys instead of each creating its own.
"""

from __future__ import annotations

from shared.clock import Clock
from shared.crypto.keyring import KekSource
from shared.crypto.local_kek import LocalKeyFile
from shared.crypto.pkcs11_keys import Pkcs11KekSource, Pkcs11SigningKeys
from shared.crypto.pkcs11_token import Pkcs11Config, TokenSession, token_session
from shared.crypto.signing import SigningKeyRing, load_or_create_signing_ring
from shared.settings import BaseServiceSettings, KeyBackend


def pkcs11_config(settings: BaseServiceSettings) -> Pkcs11Config:
    return Pkcs11Config(
        module=settings.pkcs11_module,
        token_label=settings.pkcs11_token_label,
        pin=settings.pkcs11_secret_pin(),
    )


def _token(settings: BaseServiceSettings) -> TokenSession:
    return token_session(pkcs11_config(settings))


def kek_source(settings: BaseServiceSettings, clock: Clock) -> KekSource:
    """The service's KEK source (nothing is opened until its first use)."""
    if settings.keys is KeyBackend.PKCS11:
        return Pkcs11KekSource(_token(settings), settings.pkcs11_label_prefix)
    return LocalKeyFile(settings.kek_file, clock)


def signing_ring(settings: BaseServiceSettings, name: str, clock: Clock) -> SigningKeyRing:
    """The service's signing key ring named `name` (created on first use in either backend)."""
    if settings.keys is KeyBackend.PKCS11:
        return Pkcs11SigningKeys(_token(settings), settings.pkcs11_label_prefix, name).ring()
    return load_or_create_signing_ring(settings.signing_key_file, name, clock)
