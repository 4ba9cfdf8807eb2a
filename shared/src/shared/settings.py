"""Settings base for every service: environment variables only, one prefix per service.

A variable is looked up first under the service's prefix (`SECURACT_DELIVERY_AMQP_URL`), then
under the platform-wide prefix (`SECURACT_AMQP_URL`), so a deployment sets common values once and
overrides per service where needed. Secrets carry dev defaults that are refused outside dev: a
production process without its secrets stops at start, not at first use.

Any variable may instead be given as a file: `SECURACT_AMQP_URL_FILE=/run/secrets/amqp-url` reads
the value from that file (one trailing newline dropped), for Docker/Kubernetes secrets that must
not sit in the environment. Setting both a variable and its `_FILE` is refused as ambiguous.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from shared.jsondoc import JsonObject

PLATFORM_PREFIX = "SECURACT_"
FILE_SUFFIX = "_FILE"


class Environment(StrEnum):
    DEV = "dev"
    TEST = "test"
    PRODUCTION = "production"


class MissingSecretError(ValueError):
    """A secret kept its dev default outside dev."""


class KeyBackend(StrEnum):
    """Where the KEKs and signing keys live (see `shared.crypto.backends`)."""

    FILE = "file"
    PKCS11 = "pkcs11"


class LocalKeysRefusedError(ValueError):
    """Production was about to keep its keys in local files without saying so."""


class SecretFileError(ValueError):
    """A `*_FILE` variable names a file that cannot be read, or its variable is also set."""


class FileEnvSettingsSource(EnvSettingsSource):
    """`<PREFIX><FIELD>_FILE=<path>`: the field's value is the file's content.

    Only names of real fields are looked at, so `SECURACT_KEK_FILE` (a path setting) is never
    read as a secret file. Errors name the variable and the path, never the content.
    """

    def _load_env_vars(self) -> Mapping[str, str | None]:
        environ = {name.lower(): value for name, value in os.environ.items()}
        fields = set(self.settings_cls.model_fields)
        values: dict[str, str | None] = {}
        for field in fields:
            if f"{field}{FILE_SUFFIX.lower()}" in fields:
                continue
            name = f"{self.env_prefix}{field}".lower()
            path = environ.get(f"{name}{FILE_SUFFIX.lower()}")
            if not path:
                continue
            variable = name.upper()
            if name in environ:
                raise SecretFileError(f"both {variable} and {variable}{FILE_SUFFIX} are set")
            try:
                content = Path(path).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as error:
                reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
                raise SecretFileError(
                    f"{variable}{FILE_SUFFIX}: cannot read {path} ({reason})"
                ) from None
            values[name] = content.removesuffix("\n").removesuffix("\r")
        return values


class BaseServiceSettings(BaseSettings):
    """Fields every service has. Subclasses set `service_name` and `model_config`'s prefix."""

    service_name: ClassVar[str] = ""
    default_port: ClassVar[int] = 0

    model_config = SettingsConfigDict(
        extra="ignore", frozen=True, case_sensitive=False, hide_input_in_errors=True
    )

    env: Environment = Environment.DEV
    http_host: str = "127.0.0.1"
    http_port: int = 0
    http_workers: int = Field(
        default=0,
        ge=0,
        description="HTTP worker processes of a service served from its factory; 0: one per "
        "core in production, one elsewhere.",
    )
    amqp_url: SecretStr = SecretStr("amqp://guest:guest@127.0.0.1:5672/")
    amqp_heartbeat_seconds: int = Field(
        default=10,
        ge=1,
        description="AMQP heartbeat asked of RabbitMQ: a silent broker counts as gone after "
        "about twice this (its own default, 60 s, is far too long for readiness).",
    )
    broker_probe_timeout_seconds: float = Field(
        default=2.0,
        gt=0,
        description="Readiness: the broker must answer a round trip within this.",
    )
    bus_prefix: str = Field(
        default="",
        description="Prefix for exchange and queue names: isolates test runs sharing a broker.",
    )
    store_url: str = ""
    data_dir: Path = Path("var/data")
    log_level: str = "INFO"
    log_json: bool = True
    log_colour: bool | None = Field(
        default=None,
        description="Colour text logs (dev): unset, only on a terminal; the dev stack sets it "
        "for its log files, read with `make logs`.",
    )
    outbox_poll_seconds: float = 1.0
    consumer_max_attempts: int = Field(default=5, ge=1)
    kek_file: Path = Field(
        default=Path("var/keys/kek.json"),
        description="Dev/single-host KEK ring (0600 JSON); production: a KMS behind KekSource.",
    )
    signing_key_file: Path = Field(
        default=Path("var/keys/signing.json"),
        description="The platform's Ed25519 signing key ring (0600 JSON).",
    )
    keys: KeyBackend = Field(
        default=KeyBackend.FILE,
        description="KEKs and signing keys: local files (dev) or a PKCS#11 token (an HSM).",
    )
    allow_local_keys: bool = Field(
        default=False,
        description="Production only: accept key files (on a durable volume) instead of an HSM.",
    )
    pkcs11_module: Path = Path("/usr/lib/softhsm/libsofthsm2.so")
    pkcs11_token_label: str = "securact"  # noqa: S105 (a token's label, not a password)
    # Not dev secrets (only needed with keys=pkcs11): checked in _refuse_local_keys.
    pkcs11_pin: SecretStr | None = None
    pkcs11_pin_file: Path | None = None
    pkcs11_label_prefix: str = Field(
        default="", description="Labels of this service's keys (default securact/<service>)."
    )
    identity_url: str = Field(
        default="http://127.0.0.1:8101",
        description="Identity's base URL: the access tokens' issuer and where its JWKS is.",
    )
    token_audience: str = Field(
        default="", description="The audience this service accepts (default: its name)."
    )
    max_body_bytes: int = Field(
        default=1024 * 1024,
        ge=0,
        description="Request body limit of every route that does not declare its own (413 "
        "beyond it, before the body is read).",
    )
    clock_offset_seconds: float = Field(
        default=0.0, description="Dev only: shifts this service's clock (demos of time rules)."
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        platform_env = EnvSettingsSource(
            settings_cls, env_prefix=PLATFORM_PREFIX, case_sensitive=False
        )
        service_files = FileEnvSettingsSource(settings_cls, case_sensitive=False)
        platform_files = FileEnvSettingsSource(
            settings_cls, env_prefix=PLATFORM_PREFIX, case_sensitive=False
        )
        # Env and `*_FILE` only (no dotenv): the service prefix wins over the platform one.
        return (init_settings, env_settings, service_files, platform_env, platform_files)

    def __init__(self, **values: Any) -> None:
        super().__init__(**values)
        # Checked after validation, not in a validator: pydantic would wrap the error in a
        # ValidationError, and a start-up failure must name the variables, not print values.
        self._refuse_dev_secrets()
        self._refuse_local_keys()

    @model_validator(mode="after")
    def _derived_defaults(self) -> Self:
        if self.http_port == 0 and self.default_port:
            object.__setattr__(self, "http_port", self.default_port)
        if not self.token_audience:
            object.__setattr__(self, "token_audience", self.service_name)
        if not self.pkcs11_label_prefix:
            prefix = f"securact/{self.service_name or 'service'}"
            object.__setattr__(self, "pkcs11_label_prefix", prefix)
        if not self.store_url:
            db = self.data_dir / f"{self.service_name or 'service'}.sqlite3"
            object.__setattr__(self, "store_url", f"sqlite:///{db}")
        return self

    def _refuse_dev_secrets(self) -> None:
        if self.env is not Environment.DEV:
            missing = [
                name
                for name, field in type(self).model_fields.items()
                if field.annotation is SecretStr and name not in self.model_fields_set
            ]
            if missing:
                names = ", ".join(self.env_name(n) for n in missing)
                raise MissingSecretError(
                    f"{self.env.value} mode needs these secrets set explicitly: {names}"
                )

    def _refuse_local_keys(self) -> None:
        if self.keys is KeyBackend.PKCS11:
            if self.pkcs11_pin is None and self.pkcs11_pin_file is None:
                raise MissingSecretError(
                    f"keys=pkcs11 needs {self.env_name('pkcs11_pin')} "
                    f"or {self.env_name('pkcs11_pin_file')}"
                )
        elif self.env is Environment.PRODUCTION and not self.allow_local_keys:
            raise LocalKeysRefusedError(
                f"production keeps its keys in an HSM: set {PLATFORM_PREFIX}KEYS=pkcs11 (and "
                f"{PLATFORM_PREFIX}PKCS11_*), or {PLATFORM_PREFIX}ALLOW_LOCAL_KEYS=true for key "
                "files on a durable, backed-up volume"
            )

    def pkcs11_secret_pin(self) -> SecretStr:
        """The token's user PIN: the variable, else the first line of the PIN file."""
        if self.pkcs11_pin is not None:
            return self.pkcs11_pin
        if self.pkcs11_pin_file is None:
            raise MissingSecretError(f"{self.env_name('pkcs11_pin')} is not set")
        lines = self.pkcs11_pin_file.read_text(encoding="utf-8").splitlines()
        return SecretStr(lines[0] if lines else "")

    def env_name(self, field: str) -> str:
        prefix = str(self.model_config.get("env_prefix", "")).upper()
        return f"{prefix}{field.upper()}"

    @property
    def is_dev(self) -> bool:
        return self.env is Environment.DEV

    def public_dict(self) -> JsonObject:
        """The settings as loggable data: secrets are masked by pydantic."""
        return self.model_dump(mode="json")


class ObjectStoreSettings(BaseSettings):
    """Mixin for services that keep objects in S3."""

    s3_endpoint: str = "127.0.0.1:8333"
    s3_secure: bool = False
    s3_region: str = "us-east-1"
    s3_access_key: SecretStr = SecretStr("securact-dev")
    s3_secret_key: SecretStr = SecretStr("securact-dev-secret")
    s3_bucket: str = ""
    s3_parts_in_flight: int = Field(
        default=2,
        ge=1,
        le=8,
        description="Parts of one upload sent at once (5 MiB each, one more assembled meanwhile).",
    )
    s3_unsigned_payload: bool = Field(
        default=True,
        description="Sign request headers only (UNSIGNED-PAYLOAD), not a SHA-256 of each body: "
        "every object is sealed by the platform's authenticated encryption, verified on read. "
        "False hashes bodies for SigV4 over plain HTTP.",
    )


def service_config(service: str) -> SettingsConfigDict:
    """The pydantic-settings config of a service: its own env prefix."""
    return SettingsConfigDict(
        env_prefix=f"{PLATFORM_PREFIX}{service.upper()}_",
        extra="ignore",
        frozen=True,
        case_sensitive=False,
        hide_input_in_errors=True,
    )
