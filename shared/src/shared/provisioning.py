"""What an operator command checks before it touches anything: the store and keys it was
configured with exist, and which ones they are.

A command run from the wrong directory (or with a mistyped setting) must not create an empty
store or a fresh key ring and then report on it: an empty journal "verifies", a new KEK makes
every payload look corrupt. The stores and key files are made by the services at their first
start (`make up`); the commands only refuse (`NotProvisionedError`, naming the missing path and
the setting) and say which store and key set they use (never a credential).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from shared.settings import BaseServiceSettings, KeyBackend

SQLITE_SCHEME = "sqlite:///"


class NotProvisionedError(Exception):
    """A configured store or key file does not exist; the message names it."""


def _setting(settings: BaseServiceSettings, field: str) -> str:
    prefix = str(settings.model_config.get("env_prefix", "")).upper()
    return f"{prefix}{field.upper()}"


def describe_store(url: str) -> str:
    """The store a URL names, credentials left out."""
    if url.startswith(SQLITE_SCHEME):
        return f"SQLite file {Path(url.removeprefix(SQLITE_SCHEME)).resolve()}"
    parts = urlsplit(url)
    database = parts.path.lstrip("/") or "(per-service default)"
    return f"MongoDB at {parts.hostname or '?'}{f':{parts.port}' if parts.port else ''}, " + (
        f"database {database}"
    )


def require_store(settings: BaseServiceSettings) -> str:
    """The store's description; refuses a SQLite file that does not exist yet (a MongoDB
    database cannot be told apart from an empty one offline: the command checks its content)."""
    url = settings.store_url
    if url.startswith(SQLITE_SCHEME):
        path = Path(url.removeprefix(SQLITE_SCHEME))
        if not path.is_file():
            raise NotProvisionedError(
                f"no {settings.service_name} store at {path.resolve()} (from "
                f"{_setting(settings, 'store_url')} or {_setting(settings, 'data_dir')}); the "
                "service creates it at its first start (`make up`): run from the platform's "
                "directory or point the setting at the real store"
            )
    return describe_store(url)


def require_key_files(settings: BaseServiceSettings, **files: Path) -> str:
    """The key set's description; with local key files, refuses any named one that does not
    exist (`kek_file=settings.kek_file`): the command must never create a key."""
    if settings.keys is KeyBackend.PKCS11:
        return f"PKCS#11 token {settings.pkcs11_token_label!r} ({settings.pkcs11_module})"
    return require_files(settings, **files)


def require_files(settings: BaseServiceSettings, **files: Path) -> str:
    """Like `require_key_files`, whatever the key backend (identity's token keys are always a
    file)."""
    for field, path in files.items():
        if not path.is_file():
            directory = path.resolve().parent
            state = "exists" if directory.is_dir() else "does not exist either"
            raise NotProvisionedError(
                f"no {field.replace('_', ' ')} at {path.resolve()} (from "
                f"{_setting(settings, field)}; the directory {directory} {state}); the service "
                "creates its keys at its first start (`make up`)"
            )
    return "key files " + ", ".join(str(path.resolve()) for path in files.values())


def require_key_directories(settings: BaseServiceSettings, **files: Path) -> str:
    """For keys the service makes on first use (a KEK before the first sealed value): their
    directory must exist, the file may not yet. The description says which exist."""
    if settings.keys is KeyBackend.PKCS11:
        return f"PKCS#11 token {settings.pkcs11_token_label!r} ({settings.pkcs11_module})"
    described = []
    for field, path in files.items():
        directory = path.resolve().parent
        if not directory.is_dir():
            raise NotProvisionedError(
                f"no key directory {directory} (for the {field.replace('_', ' ')}, from "
                f"{_setting(settings, field)}); the service creates its keys at its first "
                "start (`make up`)"
            )
        state = "" if path.is_file() else " (not created yet: nothing used it)"
        described.append(f"{path.resolve()}{state}")
    return "key files " + ", ".join(described)
