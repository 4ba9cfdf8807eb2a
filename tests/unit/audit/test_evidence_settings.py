"""Audit's evidence configuration: a TSA without its pinned chain, or a witness key that is not
a cosignature/v1 key, stops the service at start instead of running unverified."""

from __future__ import annotations

from pathlib import Path

import pytest

from audit.evidence import evidence_from_settings
from audit.settings import Settings
from shared.cosignature import CosignerKey
from shared.crypto import ConfigurationError
from tests.unit.audit.conftest import Audit

WITNESS = CosignerKey.generate("witness.test/w1").verifier.to_string()


def test_witnesses_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "SECURACT_AUDIT_WITNESSES",
        f'[{{"url": "http://127.0.0.1:8200", "verifier_key": "{WITNESS}"}}]',
    )
    [witness] = Settings().witnesses
    assert witness.verifier_key == WITNESS


def test_a_tsa_without_a_pinned_chain_is_refused(audit: Audit) -> None:
    settings = Settings(tsa_url="http://127.0.0.1:1/tsa")
    with pytest.raises(ConfigurationError, match="chain"):
        evidence_from_settings(settings, audit.store, audit.clock, audit.journal, audit.checkpoints)


def test_a_chain_file_without_a_root_is_refused(audit: Audit, tmp_path: Path) -> None:
    chain = tmp_path / "chain.pem"
    chain.write_text("not a certificate\n")
    settings = Settings(tsa_url="http://127.0.0.1:1/tsa", tsa_chain_file=chain)
    with pytest.raises(ConfigurationError, match="TSA chain"):
        evidence_from_settings(settings, audit.store, audit.clock, audit.journal, audit.checkpoints)


def test_a_log_key_is_not_accepted_as_a_witness_key(audit: Audit) -> None:
    log_key = audit.signer.active.verifier.to_string()
    settings = Settings.model_validate(
        {"witnesses": [{"url": "http://w", "verifier_key": log_key}]}
    )
    with pytest.raises(ConfigurationError, match="witness"):
        evidence_from_settings(settings, audit.store, audit.clock, audit.journal, audit.checkpoints)


def test_nothing_configured_runs_no_job(audit: Audit) -> None:
    evidence = evidence_from_settings(
        Settings(), audit.store, audit.clock, audit.journal, audit.checkpoints
    )
    assert not evidence.configured
