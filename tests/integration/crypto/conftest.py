"""A SoftHSM2 token of its own for the key tests (its own config and token directory).

SoftHSM2 reads SOFTHSM2_CONF when the module is initialised, once per process: the token is made
for the whole session, and every test keeps its keys under labels of its own.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from shared.crypto.pkcs11_token import DEFAULT_MODULE, Pkcs11Config

TOKEN_LABEL = "securact-tests"
USER_PIN = "test-user-pin-4721"
SO_PIN = "test-so-pin-9052"


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pkcs11Config]:
    util = shutil.which("softhsm2-util")
    if not DEFAULT_MODULE.exists() or util is None:
        pytest.skip(
            f"SoftHSM2 is not installed ({DEFAULT_MODULE}, softhsm2-util): "
            "`make bootstrap` as root installs it (Debian package softhsm2)"
        )
    home = tmp_path_factory.mktemp("softhsm")
    (home / "tokens").mkdir()
    conf = home / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {home / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n"
    )
    previous = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    subprocess.run(
        [
            util,
            "--init-token",
            "--free",
            "--label",
            TOKEN_LABEL,
            "--pin",
            USER_PIN,
            "--so-pin",
            SO_PIN,
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield Pkcs11Config(DEFAULT_MODULE, TOKEN_LABEL, SecretStr(USER_PIN))
    finally:
        if previous is None:
            os.environ.pop("SOFTHSM2_CONF", None)
        else:
            os.environ["SOFTHSM2_CONF"] = previous


@pytest.fixture
def label_prefix() -> str:
    """Labels no other test uses on the shared token."""
    return f"securact/test-{secrets.token_hex(4)}"
