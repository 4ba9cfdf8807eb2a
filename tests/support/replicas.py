"""Replicas of the services as real processes (their console scripts, as `securact-dev up
--replicas 2` runs them), started and killed one by one: not under honcho, which stops the
whole stack when one process dies, where a test needs to `kill -9` one replica and go on.

The environment is the dev stack's (`devstack.stack.stack_environment`) under a scratch root,
on free ports, an isolated bus prefix and the session's SeaweedFS; the replicas of a service
share its data directory (one SQLite file), the keys and the broker, as in the dev stack.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from devstack import keys
from devstack.stack import SERVICES, StackLayout, service_script, stack_environment
from tests.fixtures.seaweed import S3Server
from tests.support.stack import Mailbox, free_port

READY_SECONDS = 60.0


@dataclass
class Replica:
    service: str
    number: int
    port: int
    log: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def name(self) -> str:
        return f"{self.service}-{self.number}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class ReplicaStack:
    """Two (or more) replicas of every service; `url(service)` is replica 1's, which the
    services use to reach each other (a load balancer's address in production)."""

    root: Path
    env: dict[str, str]
    replicas: dict[str, list[Replica]] = field(default_factory=dict)

    def url(self, service: str, number: int = 1) -> str:
        return self.replicas[service][number - 1].url

    def replica(self, service: str, number: int) -> Replica:
        return self.replicas[service][number - 1]

    def start(self, service: str, number: int, **extra: str) -> Replica:
        """Start one replica (again, after a kill) and wait until it is ready."""
        replica = self.launch(service, number, **extra)
        self._wait_ready(replica)
        return replica

    def start_together(self, replicas: list[tuple[str, int]], **extra: str) -> None:
        """Start these replicas at once, then wait until each is ready."""
        for replica in [self.launch(service, number, **extra) for service, number in replicas]:
            self._wait_ready(replica)

    def launch(self, service: str, number: int, **extra: str) -> Replica:
        replica = self.replica(service, number)
        env = {**self.env, f"SECURACT_{service.upper()}_HTTP_PORT": str(replica.port), **extra}
        with replica.log.open("ab") as log:
            replica.process = subprocess.Popen(
                [str(service_script(service))],
                cwd=self.root,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return replica

    def _wait_ready(self, replica: Replica) -> None:
        deadline = time.monotonic() + READY_SECONDS
        assert replica.process is not None
        while time.monotonic() < deadline:
            if replica.process.poll() is not None:
                raise AssertionError(f"{replica.name} exited:\n{self.tail(replica)}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{replica.url}/health/ready", timeout=2).status_code == 200:
                    return
            time.sleep(0.2)
        raise AssertionError(
            f"{replica.name} not ready in {READY_SECONDS} s:\n{self.tail(replica)}"
        )

    def kill(self, service: str, number: int, sig: signal.Signals = signal.SIGKILL) -> None:
        """`kill -9` (by default) one replica, by its pid, and reap it."""
        replica = self.replica(service, number)
        assert replica.process is not None
        assert replica.process.poll() is None
        os.kill(replica.process.pid, sig)
        replica.process.wait(timeout=30)
        replica.process = None

    def stop_all(self) -> None:
        running = [r for rs in self.replicas.values() for r in rs if r.process is not None]
        for replica in running:
            assert replica.process is not None
            with contextlib.suppress(ProcessLookupError):
                replica.process.terminate()
        for replica in running:
            assert replica.process is not None
            try:
                replica.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                replica.process.kill()
                replica.process.wait(timeout=10)
            replica.process = None

    def tail(self, replica: Replica, lines: int = 40) -> str:
        text = replica.log.read_text(errors="replace") if replica.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def cli(self, service: str, *args: str) -> subprocess.CompletedProcess[str]:
        """A service's command (`securact-<service> ARGS`) in the stack's environment."""
        return subprocess.run(
            [str(service_script(service)), *args],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


def replica_stack(
    root: Path,
    bus_prefix: str,
    s3: S3Server,
    box: Mailbox,
    replicas: int = 2,
    **overrides: str,
) -> ReplicaStack:
    """The stack's processes, not started: free ports, one data directory per stack."""
    layout = StackLayout(root)
    for directory in (layout.log_dir, layout.data_dir, layout.keys_dir):
        directory.mkdir(parents=True, exist_ok=True)
    ports = {s: [free_port() for _ in range(replicas)] for s in SERVICES}
    first = {s: f"http://127.0.0.1:{p[0]}" for s, p in ports.items()}
    caller: Mapping[str, str] = {
        **os.environ,
        "SECURACT_BUS_PREFIX": bus_prefix,
        "SECURACT_LOG_JSON": "true",
        "SECURACT_LOG_COLOUR": "false",
        "SECURACT_OUTBOX_POLL_SECONDS": "0.2",
        "SECURACT_S3_ENDPOINT": s3.endpoint,
        "SECURACT_S3_ACCESS_KEY": s3.access_key,
        "SECURACT_S3_SECRET_KEY": s3.secret_key,
        "SECURACT_SMTP_PORT": str(box.smtp_port),
        "SECURACT_IDENTITY_URL": first["identity"],
        "SECURACT_CONSENT_URL": first["consent"],
        "SECURACT_AUDIT_URL": first["audit"],
        "SECURACT_RETENTION_URL": first["retention"],
        **{f"SECURACT_{s.upper()}_S3_BUCKET": f"{bus_prefix.strip('.')}-{s}" for s in SERVICES},
        **overrides,
    }
    env = stack_environment(layout, caller)
    env.pop("SECURACT_SPANS_DIR", None)
    # As `securact-dev up`: the keys exist before any replica starts (none creates its own).
    # (In a thread of its own: it runs its own event loop, and tests call this from theirs.)
    kek, signing = Path(env["SECURACT_KEK_FILE"]), Path(env["SECURACT_SIGNING_KEY_FILE"])
    with ThreadPoolExecutor(1) as pool:
        pool.submit(keys.ensure_dev_keys, kek, signing, lambda _: None).result()
    stack = ReplicaStack(root, env)
    for service in SERVICES:
        stack.replicas[service] = [
            Replica(service, n + 1, port, layout.log_of(f"{service}-{n + 1}"))
            for n, port in enumerate(ports[service])
        ]
    return stack
