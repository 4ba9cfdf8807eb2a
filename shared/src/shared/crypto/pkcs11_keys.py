"""KEKs and Ed25519 signing keys kept in a PKCS#11 token (an HSM; SoftHSM2 in dev and tests).

Every key is a token object that never leaves it (CKA_SENSITIVE true, CKA_EXTRACTABLE false),
named by its label: `<prefix>/kek/v<N>` for KEK version N, `<prefix>/signing/v<N>` for signing
key version N (private and public objects share label and CKA_ID), where `<prefix>` is e.g.
`securact/delivery`. Replicas of a service share the token, hence the keys.

Wraps are AES-256-GCM computed inside the token (CKM_AES_GCM, 96-bit random nonce, 128-bit tag,
the associated data as GCM AAD): the same construction as the local key file, so the binding of
a wrapped DEK to its object is checked by the HSM. CKM_AES_KEY_WRAP_PAD would not bind associated
data. The ciphertext is `CKA_ID (16) || nonce (12) || GCM ciphertext and tag`: two replicas that
started at once on an empty token may both create version 1, each with its own random CKA_ID;
naming the exact key in every wrap keeps both usable, and new wraps converge on the smallest id.

Retiring a version clears CKA_ENCRYPT and CKA_DECRYPT on its key (the token then refuses to use
it, for every replica); retiring a signing key clears CKA_SIGN on its private key (SoftHSM2 refuses
to change CKA_VERIFY on an Ed25519 public key), and a key that cannot sign is no longer published.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Final

from pkcs11 import Attribute, GCMParams, KeyType, Mechanism, MechanismFlag, ObjectClass
from pkcs11 import exceptions as p11
from pkcs11.util.ec import encode_named_curve_parameters

from shared.crypto.errors import ConfigurationError, IntegrityError, KeyNotFoundError
from shared.crypto.pkcs11_token import TokenSession
from shared.crypto.signing import SigningKeyRing, VerifierKey

logger = logging.getLogger(__name__)

TOKEN_ID_SIZE: Final = 16
_NONCE_SIZE: Final = 12
_TAG_BITS: Final = 128
_ED25519_OID: Final = "1.3.101.112"
_VERSION_LABEL = re.compile(r"/v([1-9][0-9]{0,8})$")

# What a token answers when a GCM tag does not verify: SoftHSM2 says GENERAL_ERROR, the
# standard says ENCRYPTED_DATA_INVALID; either way nothing decrypted is valid.
_TAG_FAILED = (
    p11.EncryptedDataInvalid,
    p11.EncryptedDataLenRange,
    p11.GeneralError,
    p11.FunctionFailed,
    p11.DataInvalid,
)


def _not_permitted(error: p11.PKCS11Error) -> bool:
    # CKR_KEY_FUNCTION_NOT_PERMITTED (0x68): python-pkcs11 has no class for it.
    return type(error) is p11.PKCS11Error and str(error).endswith(hex(0x68))


class _RetiredError(Exception):
    """The key's usage flag is off: retired by another replica since this one indexed it."""


def _usable(key: Any, operation: str) -> Any:
    # python-pkcs11 gives a key object the methods its CKA_ENCRYPT/CKA_DECRYPT allowed when it
    # was looked up; a key found after retirement has none.
    if not hasattr(key, operation):
        raise _RetiredError
    return key


def _secret_key_template() -> dict[Attribute, Any]:
    return {
        Attribute.TOKEN: True,
        Attribute.PRIVATE: True,
        Attribute.SENSITIVE: True,
        Attribute.EXTRACTABLE: False,
        Attribute.WRAP: False,
        Attribute.UNWRAP: False,
        Attribute.SIGN: False,
        Attribute.VERIFY: False,
        Attribute.DERIVE: False,
    }


def _version_of(label: str) -> int | None:
    match = _VERSION_LABEL.search(label)
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class _KekKey:
    version: int
    token_id: bytes
    retired: bool


class Pkcs11KekSource:
    """A `KekSource` whose versions are AES-256 keys of a PKCS#11 token (version 1 on first use).

    Versions created or retired by another replica are seen when a wrap names a key this
    process has not indexed yet, after `refresh()`, and by new wraps at most `refresh_seconds`
    after the change (the index of the token's labels is re-read that often).
    """

    def __init__(self, session: TokenSession, prefix: str, refresh_seconds: float = 60.0) -> None:
        self._session = session
        self._prefix = prefix.rstrip("/")
        self._refresh_seconds = refresh_seconds
        self._keys: dict[bytes, _KekKey] = {}
        self._current: _KekKey | None = None
        self._indexed_at = 0.0

    @property
    def key_id(self) -> str:
        return f"{self._prefix}/kek"

    def label(self, version: int) -> str:
        return f"{self.key_id}/v{version}"

    def __repr__(self) -> str:
        return f"Pkcs11KekSource(key_id={self.key_id!r}, token={self._session.config!r})"

    async def refresh(self) -> None:
        """Re-read the versions from the token."""
        await self._session.run(self._index)

    async def current_version(self) -> int:
        return (await self._current_key()).version

    async def wrap(self, plaintext: bytes, associated_data: bytes) -> tuple[int, bytes]:
        current = await self._current_key()
        label = self.label(current.version)

        def encrypt(token: TokenSession) -> bytes:
            nonce = secrets.token_bytes(_NONCE_SIZE)
            key = _usable(token.key(ObjectClass.SECRET_KEY, label, current.token_id), "encrypt")
            sealed = key.encrypt(
                plaintext,
                mechanism=Mechanism.AES_GCM,
                mechanism_param=GCMParams(nonce, associated_data, _TAG_BITS),
            )
            return current.token_id + nonce + bytes(sealed)

        try:
            return current.version, await self._session.run(encrypt)
        except (p11.PKCS11Error, _RetiredError) as error:
            if isinstance(error, p11.PKCS11Error) and not _not_permitted(error):
                raise
            # Retired by another replica since this process indexed the token.
            await self.refresh()
            raise KeyNotFoundError(f"KEK {label} was retired: wrap again") from None

    async def unwrap(self, version: int, ciphertext: bytes, associated_data: bytes) -> bytes:
        if len(ciphertext) < TOKEN_ID_SIZE + _NONCE_SIZE + _TAG_BITS // 8:
            raise IntegrityError("wrapped key does not verify for this object")
        token_id = ciphertext[:TOKEN_ID_SIZE]
        nonce = ciphertext[TOKEN_ID_SIZE : TOKEN_ID_SIZE + _NONCE_SIZE]
        sealed = ciphertext[TOKEN_ID_SIZE + _NONCE_SIZE :]
        entry = self._keys.get(token_id)
        if entry is None:
            await self.refresh()
            entry = self._keys.get(token_id)
        if entry is None or entry.version != version or entry.retired:
            raise KeyNotFoundError(f"KEK {self.label(version)} is unknown or retired")
        label = self.label(version)

        def decrypt(token: TokenSession) -> bytes:
            key = _usable(token.key(ObjectClass.SECRET_KEY, label, token_id), "decrypt")
            return bytes(
                key.decrypt(
                    sealed,
                    mechanism=Mechanism.AES_GCM,
                    mechanism_param=GCMParams(nonce, associated_data, _TAG_BITS),
                )
            )

        try:
            return await self._session.run(decrypt)
        except _TAG_FAILED:
            raise IntegrityError("wrapped key does not verify for this object") from None
        except (p11.PKCS11Error, _RetiredError) as error:
            if isinstance(error, p11.PKCS11Error) and not _not_permitted(error):
                raise
            await self.refresh()
            raise KeyNotFoundError(f"KEK {label} is retired") from None

    async def rotate(self) -> int:
        def create_next(token: TokenSession) -> int:
            self._index(token)
            version = max((k.version for k in self._keys.values()), default=0) + 1
            self._create(token, version)
            self._index(token)
            return version

        version = await self._session.run(create_next)
        logger.info("KEK %s rotated to version %s", self.key_id, version)
        return version

    async def retire(self, version: int) -> None:
        current = await self._current_key()
        if version == current.version:
            raise ValueError("the current KEK version cannot be retired: rotate first")
        label = self.label(version)

        def disable(token: TokenSession) -> None:
            self._index(token)
            entries = [k for k in self._keys.values() if k.version == version]
            if not entries:
                raise KeyNotFoundError(f"KEK {self.key_id} has no version {version}")
            for entry in entries:
                key = token.key(ObjectClass.SECRET_KEY, label, entry.token_id)
                key[Attribute.ENCRYPT] = False
                key[Attribute.DECRYPT] = False
                token.forget(label, entry.token_id)
            self._index(token)

        await self._session.run(disable)
        logger.info("KEK %s version %s retired", self.key_id, version)

    async def versions(self) -> dict[int, bool]:
        await self.refresh()
        versions: dict[int, bool] = {}
        for key in self._keys.values():
            # Two keys of one version (a start-up race): usable if either is.
            versions[key.version] = versions.get(key.version, True) and key.retired
        return versions

    async def _current_key(self) -> _KekKey:
        if self._current is None or time.monotonic() - self._indexed_at > self._refresh_seconds:
            await self._session.run(self._index_or_create)
        assert self._current is not None
        return self._current

    # -- on the token's thread --------------------------------------------------------------

    def _index_or_create(self, token: TokenSession) -> None:
        self._index(token)
        if self._current is None:
            self._create(token, 1)
            self._index(token)

    def _index(self, token: TokenSession) -> None:
        keys: dict[bytes, _KekKey] = {}
        for obj in token.find(ObjectClass.SECRET_KEY, f"{self.key_id}/v"):
            version = _version_of(obj[Attribute.LABEL])
            token_id = bytes(obj[Attribute.ID])
            if version is None or len(token_id) != TOKEN_ID_SIZE:
                continue
            keys[token_id] = _KekKey(version, token_id, retired=not obj[Attribute.DECRYPT])
        self._keys = keys
        self._indexed_at = time.monotonic()
        usable = [k for k in keys.values() if not k.retired]
        if usable:
            top = max(k.version for k in usable)
            # Two replicas may have created the same version at once: all agree on one.
            self._current = min((k for k in usable if k.version == top), key=lambda k: k.token_id)
        else:
            self._current = None

    def _create(self, token: TokenSession, version: int) -> None:
        token.session.generate_key(
            KeyType.AES,
            256,
            id=secrets.token_bytes(TOKEN_ID_SIZE),
            label=self.label(version),
            store=True,
            capabilities=MechanismFlag.ENCRYPT | MechanismFlag.DECRYPT,
            template=_secret_key_template(),
        )
        logger.info("created KEK %s in the token", self.label(version))


# -- signing ---------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class Pkcs11SigningKey:
    """A named Ed25519 key whose private half stays in the token (a `signing.Signer`).

    `sign` is synchronous like `SigningKey.sign` (the signing ring's callers are): it waits for
    the token's thread; `SigningKeyRing.sign_async` keeps the event loop free meanwhile.
    """

    name: str
    label: str
    token_id: bytes
    public_key: bytes
    session: TokenSession = field(compare=False)

    @property
    def verifier(self) -> VerifierKey:
        return VerifierKey(self.name, self.public_key)

    @property
    def key_id(self) -> str:
        return self.verifier.key_id

    def sign(self, data: bytes) -> bytes:
        label, token_id = self.label, self.token_id

        def sign(token: TokenSession) -> bytes:
            key = token.key(ObjectClass.PRIVATE_KEY, label, token_id)
            return bytes(key.sign(data, mechanism=Mechanism.EDDSA))

        return self.session.call(sign)

    def __repr__(self) -> str:
        return f"Pkcs11SigningKey(name={self.name!r}, label={self.label!r}, key_id={self.key_id})"


@dataclass(frozen=True)
class _SigningEntry:
    version: int
    token_id: bytes
    public_key: bytes
    # Cleared by retirement: the token refuses to sign and the key is no longer published.
    can_sign: bool


def _raw_ed25519(point: bytes) -> bytes:
    # CKA_EC_POINT of an Ed25519 key: a DER OCTET STRING (SoftHSM2) or the raw 32 bytes.
    if len(point) == 34 and point[0] == 0x04 and point[1] == 32:
        return point[2:]
    if len(point) == 32:
        return point
    raise ConfigurationError("token public key is not an Ed25519 point")


class Pkcs11SigningKeys:
    """The signing keys of one service in a token: load (version 1 on first use), rotate, retire."""

    def __init__(self, session: TokenSession, prefix: str, name: str) -> None:
        self._session = session
        self._prefix = prefix.rstrip("/")
        self._name = name

    def label(self, version: int) -> str:
        return f"{self._prefix}/signing/v{version}"

    def ring(self) -> SigningKeyRing:
        """The key ring: the newest usable key signs, every published key verifies."""
        return self._session.call(self._ring)

    def rotate(self) -> SigningKeyRing:
        """Create the next version in the token and return the ring that signs with it."""

        def create_next(token: TokenSession) -> SigningKeyRing:
            top = max((e.version for e in self._entries(token)), default=0)
            self._create(token, top + 1)
            return self._ring(token)

        ring = self._session.call(create_next)
        logger.info("signing key rotated to %s", ring.active.key_id)
        return ring

    def retire(self, key_id: str) -> SigningKeyRing:
        """Stop signing with and publishing `key_id` (the active key cannot be retired)."""

        def disable(token: TokenSession) -> SigningKeyRing:
            ring = self._ring(token)
            if ring.active.key_id == key_id:
                raise ValueError("the active signing key cannot be retired: rotate first")
            matches = [
                e
                for e in self._entries(token)
                if VerifierKey(self._name, e.public_key).key_id == key_id
            ]
            if not matches:
                raise KeyNotFoundError(f"no signing key {key_id} in the token")
            for entry in matches:
                label = self.label(entry.version)
                private = token.key(ObjectClass.PRIVATE_KEY, label, entry.token_id)
                private[Attribute.SIGN] = False
                token.forget(label, entry.token_id)
            return self._ring(token)

        return self._session.call(disable)

    # -- on the token's thread --------------------------------------------------------------

    def _ring(self, token: TokenSession) -> SigningKeyRing:
        entries = self._entries(token)
        if not any(e.can_sign for e in entries):
            self._create(token, max((e.version for e in entries), default=0) + 1)
            entries = self._entries(token)
        signers = [e for e in entries if e.can_sign]
        top = max(e.version for e in signers)
        chosen = min((e for e in signers if e.version == top), key=lambda e: e.token_id)
        label = self.label(chosen.version)
        active = Pkcs11SigningKey(
            self._name, label, chosen.token_id, chosen.public_key, self._session
        )
        published = [VerifierKey(self._name, e.public_key) for e in signers]
        return SigningKeyRing(active, published)

    def _entries(self, token: TokenSession) -> list[_SigningEntry]:
        prefix = f"{self._prefix}/signing/v"
        publics: dict[bytes, tuple[int, bytes]] = {}
        for obj in token.find(ObjectClass.PUBLIC_KEY, prefix):
            version = _version_of(obj[Attribute.LABEL])
            if version is None:
                continue
            point = _raw_ed25519(bytes(obj[Attribute.EC_POINT]))
            publics[bytes(obj[Attribute.ID])] = (version, point)
        entries = []
        for obj in token.find(ObjectClass.PRIVATE_KEY, prefix):
            token_id = bytes(obj[Attribute.ID])
            public = publics.get(token_id)
            if public is None:
                continue
            version, point = public
            entries.append(_SigningEntry(version, token_id, point, bool(obj[Attribute.SIGN])))
        return entries

    def _create(self, token: TokenSession, version: int) -> None:
        label = self.label(version)
        token.session.generate_keypair(
            KeyType.EC_EDWARDS,
            id=secrets.token_bytes(TOKEN_ID_SIZE),
            label=label,
            store=True,
            capabilities=MechanismFlag.SIGN | MechanismFlag.VERIFY,
            public_template={
                Attribute.EC_PARAMS: encode_named_curve_parameters(_ED25519_OID),
                Attribute.TOKEN: True,
                Attribute.PRIVATE: False,
            },
            private_template={
                Attribute.TOKEN: True,
                Attribute.PRIVATE: True,
                Attribute.SENSITIVE: True,
                Attribute.EXTRACTABLE: False,
                Attribute.DECRYPT: False,
                Attribute.UNWRAP: False,
                Attribute.DERIVE: False,
            },
        )
        logger.info("created signing key %s in the token", label)
