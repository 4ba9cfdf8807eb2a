"""The platform's seal key (ECDSA P-256) and its dev certificate chain."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from shared.clock import SystemClock
from shared.crypto.errors import ConfigurationError
from shared.crypto.seal import SealKey, load_or_create_dev_seal, load_seal, make_dev_seal


def test_the_dev_seal_is_made_once_0600_and_issued_by_its_own_test_ca(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "seal.json"
    made = load_or_create_dev_seal(path, SystemClock())
    assert path.stat().st_mode & 0o777 == 0o600
    again = load_or_create_dev_seal(path, SystemClock())
    assert again.certificate == made.certificate
    assert isinstance(made.key.curve, ec.SECP256R1)
    leaf, ca = made.chain
    leaf.verify_directly_issued_by(ca)
    assert ca.subject == ca.issuer


def test_a_group_readable_seal_key_is_refused(tmp_path: Path) -> None:
    seal, _ = make_dev_seal(SystemClock())
    certificates = tmp_path / "seal.pem"
    certificates.write_text("".join(seal.chain_pem()))
    key = tmp_path / "seal.key"
    key.write_bytes(
        seal.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key.chmod(0o600)
    assert load_seal(certificates, key).certificate == seal.certificate
    key.chmod(0o640)
    with pytest.raises(ConfigurationError, match="chmod 600"):
        load_seal(certificates, key)


def test_a_certificate_of_another_key_is_refused() -> None:
    seal, _ = make_dev_seal(SystemClock())
    other, _ = make_dev_seal(SystemClock())
    with pytest.raises(ConfigurationError, match="not the seal key's"):
        SealKey(seal.key, other.chain)
    with pytest.raises(ConfigurationError, match="P-256"):
        SealKey(ec.generate_private_key(ec.SECP384R1()), seal.chain)
