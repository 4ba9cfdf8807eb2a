"""Key backends: DEK wraps, unwraps and Ed25519 signatures per second, local key file against a
PKCS#11 token (SoftHSM2, a token of its own in a temp dir), through the same `KekSource` and
`SigningKeyRing` calls the services make (so the token's thread hop is included).

`round_trip_ok` (hard): every unwrap gave back its DEK in both backends. Without SoftHSM2
installed, only the file backend is measured (`pkcs11_available` = 0).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from pydantic import SecretStr

from shared.clock import SystemClock
from shared.crypto import KekSource, SigningKeyRing
from shared.crypto.local_kek import LocalKeyFile
from shared.crypto.pkcs11_token import DEFAULT_MODULE, Pkcs11Config
from shared.crypto.signing import load_or_create_signing_ring

OPERATIONS = 2000
CONCURRENCY = 64
SIGNED_BYTES = 400  # about a canonical evidence document


async def _rate(count: int, one: Callable[[int], Awaitable[object]], concurrency: int) -> float:
    started = time.perf_counter()
    for first in range(0, count, concurrency):
        await asyncio.gather(*(one(i) for i in range(first, min(first + concurrency, count))))
    return count / (time.perf_counter() - started)


async def _measure(source: KekSource, ring: SigningKeyRing, prefix: str) -> dict[str, float]:
    deks = [secrets.token_bytes(32) for _ in range(OPERATIONS)]
    aads = [f"act-{i}".encode() for i in range(OPERATIONS)]
    wrapped: list[bytes] = [b""] * OPERATIONS
    await source.current_version()

    async def wrap(i: int) -> None:
        wrapped[i] = (await source.wrap(deks[i], aads[i]))[1]

    async def unwrap(i: int) -> bytes:
        return await source.unwrap(1, wrapped[i], aads[i])

    data = secrets.token_bytes(SIGNED_BYTES)
    results = {
        f"{prefix}_wraps_per_s": await _rate(OPERATIONS, wrap, 1),
        f"{prefix}_wraps_per_s_concurrent": await _rate(OPERATIONS, wrap, CONCURRENCY),
        f"{prefix}_unwraps_per_s": await _rate(OPERATIONS, unwrap, 1),
    }
    opened = await asyncio.gather(*(unwrap(i) for i in range(OPERATIONS)))
    results[f"{prefix}_round_trip_ok"] = float(opened == deks)
    started = time.perf_counter()
    for _ in range(OPERATIONS):
        ring.sign(data)
    results[f"{prefix}_signs_per_s"] = OPERATIONS / (time.perf_counter() - started)

    async def sign(_: int) -> object:
        return await ring.sign_async(data)

    results[f"{prefix}_signs_per_s_async"] = await _rate(OPERATIONS, sign, CONCURRENCY)
    return results


def _softhsm_token(home: Path) -> Pkcs11Config | None:
    util = shutil.which("softhsm2-util")
    if util is None or not DEFAULT_MODULE.exists():
        return None
    (home / "tokens").mkdir()
    conf = home / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {home / 'tokens'}\nobjectstore.backend = file\n")
    os.environ["SOFTHSM2_CONF"] = str(conf)  # read once, when the module is initialised
    pin = secrets.token_hex(8)
    subprocess.run(
        [util, "--init-token", "--free", "--label", "bench", "--pin", pin, "--so-pin", pin],
        check=True,
        capture_output=True,
    )
    return Pkcs11Config(DEFAULT_MODULE, "bench", SecretStr(pin))


async def _run(home: Path) -> dict[str, float]:
    clock = SystemClock()
    results = await _measure(
        LocalKeyFile(home / "kek.json", clock),
        load_or_create_signing_ring(home / "signing.json", "securact.bench", clock),
        "file",
    )
    config = _softhsm_token(home)
    results["pkcs11_available"] = float(config is not None)
    ok = results.pop("file_round_trip_ok")
    if config is not None:
        from shared.crypto.pkcs11_keys import Pkcs11KekSource, Pkcs11SigningKeys
        from shared.crypto.pkcs11_token import token_session

        session = token_session(config)
        ring = Pkcs11SigningKeys(session, "securact/bench", "securact.bench").ring()
        results |= await _measure(Pkcs11KekSource(session, "securact/bench"), ring, "pkcs11")
        ok = min(ok, results.pop("pkcs11_round_trip_ok"))
    results["round_trip_ok"] = ok
    return results


def run() -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="keys-bench-") as home:
        return asyncio.run(_run(Path(home)))
