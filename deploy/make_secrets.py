"""Create the secret files docker-compose.yml mounts (compose `secrets:`), standard library only.

    python3 deploy/make_secrets.py            # writes deploy/secrets/ (kept out of git)

Random values are created once and kept: running it again only rewrites what is derived from them
(the AMQP and store URLs, RabbitMQ's definitions), so MongoDB users created at the first start keep
matching their passwords. The directory is 0700; files are 0444 because compose bind-mounts them
as they are and each container reads them under its own user.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import secrets
import sys
from pathlib import Path

SERVICES = ("identity", "consent", "delivery", "notify", "audit", "retention")
DEFAULT_DIR = Path(__file__).resolve().parent / "secrets"
AMQP_USER = "securact"
RABBITMQ_ADMIN = "admin"
MONGO_HOST = "mongo:27017"
RABBITMQ_HOST = "rabbitmq:5672"


def _password() -> str:
    # URL-safe: it goes unescaped into amqp:// and mongodb:// URLs.
    return secrets.token_urlsafe(32)


def rabbitmq_password_hash(password: str, salt: bytes | None = None) -> str:
    """RabbitMQ's `rabbit_password_hashing_sha256`: base64(salt + sha256(salt + password))."""
    salt = secrets.token_bytes(4) if salt is None else salt
    digest = hashlib.sha256(salt + password.encode()).digest()
    return base64.b64encode(salt + digest).decode()


def store_url(service: str, password: str) -> str:
    """The service's MongoDB URL: its own user, authenticated on its own database."""
    database = f"securact_{service}"
    return (
        f"mongodb://{service}:{password}@{MONGO_HOST}/{database}"
        f"?replicaSet=rs0&authSource={database}"
    )


def _write(directory: Path, name: str, value: str) -> None:
    path = directory / name
    if path.exists():
        path.chmod(0o600)
    path.write_text(value + "\n")
    path.chmod(0o444)


def _kept(directory: Path, name: str, make: str) -> str:
    path = directory / name
    if path.exists():
        return path.read_text().removesuffix("\n")
    _write(directory, name, make)
    return make


def make_secrets(directory: Path = DEFAULT_DIR) -> list[str]:
    """Create what is missing, refresh what is derived; returns the file names."""
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    rabbit = _kept(directory, "rabbitmq_password", _password())
    admin = _kept(directory, "rabbitmq_admin_password", _password())
    _write(directory, "amqp_url", f"amqp://{AMQP_USER}:{rabbit}@{RABBITMQ_HOST}/")
    definitions = {
        "users": [
            # The services declare their exchanges and queues: full rights on the vhost, no tag.
            {
                "name": AMQP_USER,
                "password_hash": rabbitmq_password_hash(rabbit),
                "hashing_algorithm": "rabbit_password_hashing_sha256",
                "tags": [],
            },
            {
                "name": RABBITMQ_ADMIN,
                "password_hash": rabbitmq_password_hash(admin),
                "hashing_algorithm": "rabbit_password_hashing_sha256",
                "tags": ["administrator"],
            },
        ],
        "vhosts": [{"name": "/"}],
        "permissions": [
            {"user": user, "vhost": "/", "configure": ".*", "write": ".*", "read": ".*"}
            for user in (AMQP_USER, RABBITMQ_ADMIN)
        ],
    }
    _write(directory, "rabbitmq_definitions", json.dumps(definitions, indent=2))
    _kept(directory, "mongo_root_password", _password())
    # 6 to 1024 base64 characters (MongoDB keyfile rules).
    _kept(directory, "mongo_keyfile", base64.b64encode(secrets.token_bytes(96)).decode())
    for service in SERVICES:
        password = _kept(directory, f"mongo_{service}_password", _password())
        _write(directory, f"{service}_store_url", store_url(service, password))
    _kept(directory, "s3_access_key", "securact")
    _kept(directory, "s3_secret_key", _password())
    _kept(directory, "identity_ip_hash_pepper", _password())
    _kept(directory, "notify_client_secret", _password())
    _kept(directory, "delivery_client_secret", _password())
    _kept(directory, "consent_search_pepper", _password())
    _kept(directory, "grafana_admin_password", _password())
    return sorted(p.name for p in directory.iterdir())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    args = parser.parse_args(argv)
    names = make_secrets(args.dir)
    # Names only: the values never reach a terminal or a log.
    sys.stdout.write(f"{len(names)} secret files in {args.dir}{os.sep}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
