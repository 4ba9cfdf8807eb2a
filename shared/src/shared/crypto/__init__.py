"""Encryption at rest, key management and signatures of the platform (DESIGN §6).

- `streaming`: per-object streaming AEAD (Tink AES-GCM-HKDF wire format behind our header).
- `keyring`: DEKs wrapped by versioned KEKs from a `KekSource` port; `local_kek` is the dev file,
  `pkcs11_keys` a PKCS#11 token (HSM); `backends` picks one from the settings.
- `rewrap`: moves every DEK a service stores to the current KEK version, resumably (the
  services' `rotate-kek`, `shared.kek_commands`), and counts what is left under a version.
- `shredding`: destroy the wrapped DEK, then the object, journaling both steps.
- `signing`: Ed25519 key ring, JWKS, C2SP signed notes.
"""

from shared.crypto.errors import (
    ConfigurationError,
    CryptoError,
    IntegrityError,
    KeyNotFoundError,
    StreamNotFinishedError,
)
from shared.crypto.keyring import KekSource, KeyRing, WrappedDek
from shared.crypto.local_kek import DEFAULT_KEK_FILE, LocalKeyFile
from shared.crypto.shredding import ShredJournal, ShredStep, ShredStepKind, crypto_shred
from shared.crypto.signing import (
    DetachedSignature,
    Signer,
    SigningKey,
    SigningKeyRing,
    VerifiedNote,
    VerifierKey,
    load_or_create_signing_ring,
    open_note,
    sign_note,
)
from shared.crypto.streaming import (
    DataKey,
    DecryptingStream,
    EncryptingStream,
    ciphertext_size,
    decrypt_stream,
    encrypt_stream,
)

__all__ = [
    "DEFAULT_KEK_FILE",
    "ConfigurationError",
    "CryptoError",
    "DataKey",
    "DecryptingStream",
    "DetachedSignature",
    "EncryptingStream",
    "IntegrityError",
    "KekSource",
    "KeyNotFoundError",
    "KeyRing",
    "LocalKeyFile",
    "ShredJournal",
    "ShredStep",
    "ShredStepKind",
    "Signer",
    "SigningKey",
    "SigningKeyRing",
    "StreamNotFinishedError",
    "VerifiedNote",
    "VerifierKey",
    "WrappedDek",
    "ciphertext_size",
    "crypto_shred",
    "decrypt_stream",
    "encrypt_stream",
    "load_or_create_signing_ring",
    "open_note",
    "sign_note",
]
