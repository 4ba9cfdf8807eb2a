"""What the local stack runs: the processes, their ports, readiness and environment.

Everything here is data; `supervisor` starts and stops it. A service plugs in by name: its
console script `securact-<name>` next to the running interpreter, its port in `SERVICE_PORTS`.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from devstack import seaweed

SERVICE_PORTS: dict[str, int] = {
    "identity": 8101,
    "consent": 8102,
    "delivery": 8103,
    "notify": 8104,
    "audit": 8105,
    "retention": 8106,
}
SERVICES: tuple[str, ...] = tuple(SERVICE_PORTS)
INFRASTRUCTURE: tuple[str, ...] = ("seaweedfs", "mailbox")
ALL_PROCESSES: tuple[str, ...] = INFRASTRUCTURE + SERVICES

DEV_S3_ACCESS_KEY = "securact-dev"
DEV_S3_SECRET_KEY = "securact-dev-secret"  # noqa: S105 (the documented dev-only credential)
# Notify's client secret at identity (it fetches activation and reset links when it sends
# them): one variable both services read, so overriding it keeps them paired.
DEV_NOTIFY_CLIENT_SECRET = "securact-dev-notify-client-secret"  # noqa: S105 (dev-only)
DEV_DELIVERY_CLIENT_SECRET = "securact-dev-delivery-client-secret"  # noqa: S105 (dev-only)
DEV_TOKEN_LABEL = "securact-dev"  # noqa: S105 (a token label, not a password)
MAILBOX_SMTP_PORT = 1025
MAILBOX_HTTP_PORT = 8025
AMQP_PORT = 5672
RABBITMQ_MANAGEMENT_PORT = 15672
# `up --replicas N`: replica r of a service listens on its port + (r - 1) * REPLICA_PORT_STEP.
REPLICA_PORT_STEP = 100
MAX_REPLICAS = 4
# Set in every process the stack starts: how `down` recognises leftovers of this checkout only.
MARKER_VARIABLE = "SECURACT_DEVSTACK_VAR"


@dataclass(frozen=True)
class StackLayout:
    """Where a checkout's stack keeps its state: everything lives under `<root>/var/`."""

    root: Path

    @property
    def var(self) -> Path:
        return self.root / "var"

    @property
    def log_dir(self) -> Path:
        return self.var / "log"

    @property
    def data_dir(self) -> Path:
        return self.var / "data"

    @property
    def spans_dir(self) -> Path:
        """One JSONL file of finished spans per service (`securact-dev trace ACT_ID`)."""
        return self.var / "spans"

    @property
    def seaweed_dir(self) -> Path:
        return self.var / "seaweedfs"

    @property
    def s3_config(self) -> Path:
        return self.var / "s3-config.json"

    @property
    def keys_dir(self) -> Path:
        return self.var / "keys"

    @property
    def softhsm_dir(self) -> Path:
        """The SoftHSM2 token of `SECURACT_KEYS=pkcs11` (config, token files, PIN files)."""
        return self.var / "softhsm"

    @property
    def mailbox_dir(self) -> Path:
        return self.var / "mailbox"

    @property
    def run_dir(self) -> Path:
        return self.var / "run"

    @property
    def procfile(self) -> Path:
        return self.run_dir / "Procfile"

    @property
    def pid_file(self) -> Path:
        return self.run_dir / "honcho.pid"

    @property
    def state_file(self) -> Path:
        return self.run_dir / "stack.json"

    @property
    def supervisor_log(self) -> Path:
        return self.log_dir / "honcho.log"

    def log_of(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    @classmethod
    def discover(cls, start: Path | None = None) -> StackLayout:
        """The checkout: `SECURACT_DEV_ROOT`, else the nearest parent of `start` (default: the
        working directory) holding the workspace's pyproject, else this package's checkout."""
        explicit = os.environ.get("SECURACT_DEV_ROOT")
        if explicit:
            return cls(Path(explicit).resolve())
        here = (start or Path.cwd()).resolve()
        for candidate in (here, *here.parents):
            if (candidate / "tools" / "devstack" / "pyproject.toml").exists() and (
                candidate / "pyproject.toml"
            ).exists():
                return cls(candidate)
        # tools/devstack/src/devstack/stack.py -> the checkout is four levels up.
        return cls(Path(__file__).resolve().parents[4])


@dataclass(frozen=True)
class ProcessSpec:
    """One process of the stack: a service's replica 2 is named `<service>-2`."""

    name: str
    argv: tuple[str, ...]
    port: int
    ready_url: str | None  # None: an open port is ready enough
    service: str | None = None  # the service this process is a replica of
    env: tuple[tuple[str, str], ...] = ()  # set for this process only (its port)

    @property
    def is_service(self) -> bool:
        return self.service is not None


def replica_name(service: str, replica: int) -> str:
    return service if replica == 1 else f"{service}-{replica}"


def replica_port(service: str, replica: int) -> int:
    return SERVICE_PORTS[service] + (replica - 1) * REPLICA_PORT_STEP


def bin_dir() -> Path:
    """The virtualenv's scripts directory: console scripts sit next to the interpreter."""
    return Path(sys.executable).parent


def service_script(name: str) -> Path:
    return bin_dir() / f"securact-{name}"


def missing_service_entry_points(names: Sequence[str] = SERVICES) -> list[str]:
    """Services whose console script or `<name>.__main__` module is not installed yet."""
    missing = []
    for name in names:
        try:
            module = importlib.util.find_spec(f"{name}.__main__")
        except ModuleNotFoundError:
            module = None
        if module is None or not service_script(name).exists():
            missing.append(name)
    return missing


def process_specs(
    layout: StackLayout, names: Sequence[str] = ALL_PROCESSES, replicas: int = 1
) -> list[ProcessSpec]:
    """The processes to run, in start order (infrastructure first), `replicas` of each service:
    the replicas of a service share its data (var/data/<service>.sqlite3, so one host), the
    stack's keys and the broker; each listens on its own port (`replica_port`)."""
    unknown = sorted(set(names) - set(ALL_PROCESSES))
    if unknown:
        raise ValueError(f"unknown process(es): {', '.join(unknown)}")
    if not 1 <= replicas <= MAX_REPLICAS:
        raise ValueError(f"replicas must be between 1 and {MAX_REPLICAS}")
    specs: list[ProcessSpec] = []
    if "seaweedfs" in names:
        ports = seaweed.SeaweedPorts()
        argv = seaweed.weed_command(layout.seaweed_dir, layout.s3_config, ports)
        ready = f"http://127.0.0.1:{ports.s3}/healthz"
        specs.append(ProcessSpec("seaweedfs", tuple(argv), ports.s3, ready))
    if "mailbox" in names:
        argv = [
            sys.executable,
            "-m",
            "devstack.mailbox",
            f"--dir={layout.mailbox_dir}",
            f"--smtp-port={MAILBOX_SMTP_PORT}",
            f"--http-port={MAILBOX_HTTP_PORT}",
        ]
        ready = f"http://127.0.0.1:{MAILBOX_HTTP_PORT}/readyz"
        specs.append(ProcessSpec("mailbox", tuple(argv), MAILBOX_SMTP_PORT, ready))
    for replica in range(1, replicas + 1):
        for name in SERVICES:
            if name in names:
                port = replica_port(name, replica)
                ready = f"http://127.0.0.1:{port}/health/ready"
                command = (str(service_script(name)),)
                env = ((f"SECURACT_{name.upper()}_HTTP_PORT", str(port)),)
                process = replica_name(name, replica)
                specs.append(ProcessSpec(process, command, port, ready, service=name, env=env))
    return specs


def stack_environment(layout: StackLayout, caller: Mapping[str, str]) -> dict[str, str]:
    """The environment of every process: the caller's, with the dev defaults filled in where the
    caller set nothing (so `SECURACT_AMQP_URL=... make up` points the stack elsewhere)."""
    defaults = {
        "SECURACT_ENV": "dev",
        "SECURACT_DATA_DIR": str(layout.data_dir),
        # Readable logs (`make logs`) and a local copy of every span; `SECURACT_OTLP_ENDPOINT`
        # (e.g. http://127.0.0.1:4318) sends them to a collector as well.
        "SECURACT_LOG_JSON": "false",
        "SECURACT_LOG_COLOUR": "true",
        "SECURACT_SPANS_DIR": str(layout.spans_dir),
        "SECURACT_S3_ENDPOINT": f"127.0.0.1:{seaweed.SeaweedPorts().s3}",
        "SECURACT_S3_ACCESS_KEY": DEV_S3_ACCESS_KEY,
        "SECURACT_S3_SECRET_KEY": DEV_S3_SECRET_KEY,
        "SECURACT_NOTIFY_CLIENT_SECRET": DEV_NOTIFY_CLIENT_SECRET,
        "SECURACT_DELIVERY_CLIENT_SECRET": DEV_DELIVERY_CLIENT_SECRET,
        "SECURACT_SMTP_HOST": "127.0.0.1",
        "SECURACT_SMTP_PORT": str(MAILBOX_SMTP_PORT),
        "SECURACT_AMQP_URL": f"amqp://guest:guest@127.0.0.1:{AMQP_PORT}/",
        "SECURACT_KEK_FILE": str(layout.keys_dir / "kek.json"),
        "SECURACT_SIGNING_KEY_FILE": str(layout.keys_dir / "signing.json"),
        "SECURACT_IDENTITY_TOKEN_KEY_FILE": str(layout.keys_dir / "identity-tokens.json"),
        "SECURACT_IDENTITY_SEED_DEV_CREDENTIALS_FILE": str(layout.var / "dev-credentials.json"),
        # Delivery serves only for offices in its directory: the demo office identity seeds.
        "SECURACT_DELIVERY_OFFICES": (
            '{"etude-demo-75001": {"name": "Étude de démonstration", '
            '"email": "etude-demo@securact.example", "territory": "metropole"}}'
        ),
        # Where notify tells the demo office of a declaration the person contested.
        "SECURACT_NOTIFY_OFFICE_EMAILS": '{"etude-demo-75001": "etude-demo@securact.example"}',
    }
    if caller.get("SECURACT_KEYS") == "pkcs11":
        # One token for the stack; each service keeps its keys under securact/<service>/.
        defaults |= {
            "SOFTHSM2_CONF": str(layout.softhsm_dir / "softhsm2.conf"),
            "SECURACT_PKCS11_TOKEN_LABEL": DEV_TOKEN_LABEL,
            "SECURACT_PKCS11_PIN_FILE": str(layout.softhsm_dir / "user-pin"),
        }
    env = dict(caller)
    for key, value in defaults.items():
        env.setdefault(key, value)
    env["PYTHONUNBUFFERED"] = "1"
    env[MARKER_VARIABLE] = str(layout.var)
    return env
