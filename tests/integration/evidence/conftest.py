"""Two real `securact-witness` processes on loopback, started once per module (a process start
is slow on a loaded machine), following a pool of test logs: each test takes a log of its own
(`log_key`), so the witnesses' records of one test never meet another's."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from shared.cosignature import CosignerVerifier
from shared.crypto import SigningKey

ORIGIN = "securact.test/audit"
WITNESS = Path(sys.executable).parent / "securact-witness"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class RunningWitness:
    name: str
    directory: Path
    log_keys: list[str]
    port: int = field(default_factory=_free_port)
    verifier: CosignerVerifier | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def key(self) -> CosignerVerifier:
        assert self.verifier is not None
        return self.verifier

    def start(self) -> RunningWitness:
        key_file = self.directory / "witness.key"
        if not key_file.exists():
            made = subprocess.run(
                [str(WITNESS), "keygen", "--name", self.name, "--key-file", str(key_file)],
                check=True, capture_output=True, text=True,
            )  # fmt: skip
            self.verifier = CosignerVerifier.from_string(made.stdout)
        command = [str(WITNESS), "serve", "--key-file", str(key_file), "--port", str(self.port),
                   "--state", str(self.directory / "state.sqlite")]  # fmt: skip
        for vkey in self.log_keys:
            command += ["--log", vkey]
        log = (self.directory / "witness.log").open("ab")
        self.process = subprocess.Popen(command, stdout=log, stderr=log)
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{self.url}/verifier-key", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError((self.directory / "witness.log").read_text())
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


LOGS = 24


@pytest.fixture(scope="module")
def log_pool() -> list[SigningKey]:
    return [SigningKey.generate(f"{ORIGIN}-{n}") for n in range(LOGS)]


@pytest.fixture
def log_key(log_pool: list[SigningKey]) -> SigningKey:
    """A log the module's witnesses follow and no other test of the module used."""
    return log_pool.pop()


@pytest.fixture(scope="module")
def witnesses(
    tmp_path_factory: pytest.TempPathFactory, log_pool: list[SigningKey]
) -> Iterator[list[RunningWitness]]:
    started = []
    vkeys = [key.verifier.to_string() for key in log_pool]
    try:
        for name in ("witness.test/w1", "witness.test/w2"):
            directory = tmp_path_factory.mktemp(name.replace("/", "-"))
            started.append(RunningWitness(name, directory, vkeys).start())
        yield started
    finally:
        for witness in started:
            witness.stop()
