"""Dev keys, created on the first `make up` under var/keys/ (0600, never committed), or with
`SECURACT_KEYS=pkcs11` a SoftHSM2 token under var/softhsm/ initialised once (its PINs are random,
in 0600 files beside it); the services create their own keys in it on first start."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path

from shared.clock import SystemClock
from shared.crypto import LocalKeyFile, load_or_create_signing_ring

SIGNING_KEY_NAME = "securact.dev"


def ensure_dev_keys(kek_file: Path, signing_file: Path, say: Callable[[str], None]) -> None:
    """Create the KEK ring and the signing key ring if they do not exist yet."""
    clock = SystemClock()
    created = [path.name for path in (kek_file, signing_file) if not path.exists()]
    asyncio.run(LocalKeyFile(kek_file, clock).current_version())
    load_or_create_signing_ring(signing_file, SIGNING_KEY_NAME, clock)
    if created:
        say(f"created dev keys in {kek_file.parent}: {', '.join(created)}")


SOFTHSM_UTIL = "softhsm2-util"


class TokenUnavailableError(RuntimeError):
    """SoftHSM2 is not installed or the token could not be initialised."""


def _private_file(path: Path, make: Callable[[], str]) -> str:
    """The first line of `path`, created 0600 from `make()` when absent."""
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(make() + "\n")
    return path.read_text(encoding="utf-8").splitlines()[0]


def ensure_dev_token(env: Mapping[str, str], say: Callable[[str], None]) -> None:
    """Initialise the stack's SoftHSM2 token (`SOFTHSM2_CONF`, label, PIN file) unless it is."""
    module = Path(env.get("SECURACT_PKCS11_MODULE", "/usr/lib/softhsm/libsofthsm2.so"))
    util = shutil.which(SOFTHSM_UTIL)
    if util is None or not module.exists():
        raise TokenUnavailableError(
            f"SECURACT_KEYS=pkcs11 needs SoftHSM2 ({module}, {SOFTHSM_UTIL}): "
            "run scripts/ensure-softhsm.sh as root, or `apt-get install softhsm2`"
        )
    conf = Path(env["SOFTHSM2_CONF"])
    label = env["SECURACT_PKCS11_TOKEN_LABEL"]
    home = conf.parent
    (home / "tokens").mkdir(mode=0o700, parents=True, exist_ok=True)
    if not conf.exists():
        conf.write_text(
            f"directories.tokendir = {(home / 'tokens').resolve()}\n"
            "objectstore.backend = file\nlog.level = ERROR\n",
            encoding="utf-8",
        )
    pin = _private_file(Path(env["SECURACT_PKCS11_PIN_FILE"]), lambda: secrets.token_hex(16))
    so_pin = _private_file(home / "so-pin", lambda: secrets.token_hex(16))
    run_env = {**os.environ, "SOFTHSM2_CONF": str(conf)}
    slots = subprocess.run(
        [util, "--show-slots"], env=run_env, capture_output=True, text=True, check=False
    )
    if any(
        line.split(":", 1)[-1].strip() == label
        for line in slots.stdout.splitlines()
        if line.strip().startswith("Label:")
    ):
        return
    done = subprocess.run(
        [util, "--init-token", "--free", "--label", label, "--pin", pin, "--so-pin", so_pin],
        env=run_env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        # softhsm2-util's own message; it does not repeat the PINs.
        raise TokenUnavailableError(
            f"softhsm2-util could not create {label}: {done.stderr.strip()}"
        )
    say(f"created the SoftHSM2 token {label} in {home}")
