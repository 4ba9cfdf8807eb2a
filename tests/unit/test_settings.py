"""Service settings: environment only, service prefix over platform prefix, secrets outside dev."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from audit.settings import Settings as AuditSettings
from delivery.settings import Settings as DeliverySettings
from shared.settings import (
    Environment,
    KeyBackend,
    LocalKeysRefusedError,
    MissingSecretError,
    SecretFileError,
)

SECRET = "amqp://securact:S3cr3t-Passw0rd-Never-Printed@rabbit.internal:5672/"
DELIVERY_SECRETS = {
    "SECURACT_DELIVERY_AMQP_URL": "amqp://d:delivery-pass@rabbit:5672/",
    "SECURACT_DELIVERY_S3_ACCESS_KEY": "delivery-access",
    "SECURACT_DELIVERY_S3_SECRET_KEY": "delivery-secret",
    "SECURACT_DELIVERY_CLIENT_SECRET": "delivery-client-secret",
}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # Only what each test sets may reach the settings (restored afterwards).
    for name in list(os.environ):
        if name.upper().startswith("SECURACT_"):
            monkeypatch.delenv(name)
    # The secrets' tests run in production with key files; the key tests remove this.
    monkeypatch.setenv("SECURACT_ALLOW_LOCAL_KEYS", "true")


def test_dev_mode_starts_with_defaults() -> None:
    settings = AuditSettings()
    assert settings.env is Environment.DEV
    assert settings.is_dev
    assert settings.amqp_url.get_secret_value() == "amqp://guest:guest@127.0.0.1:5672/"
    assert settings.http_host == "127.0.0.1"


def test_default_port_is_the_services_own() -> None:
    assert AuditSettings().http_port == 8105
    assert DeliverySettings().http_port == 8103


def test_explicit_port_overrides_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECURACT_AUDIT_HTTP_PORT", "9105")
    assert AuditSettings().http_port == 9105


def test_service_prefix_wins_over_platform_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECURACT_AMQP_URL", "amqp://platform:5672/")
    monkeypatch.setenv("SECURACT_AUDIT_AMQP_URL", "amqp://audit-only:5672/")
    monkeypatch.setenv("SECURACT_LOG_LEVEL", "DEBUG")
    settings = AuditSettings()
    assert settings.amqp_url.get_secret_value() == "amqp://audit-only:5672/"
    # What the service does not override comes from the platform prefix.
    assert settings.log_level == "DEBUG"
    assert DeliverySettings().amqp_url.get_secret_value() == "amqp://platform:5672/"


def test_another_services_prefix_does_not_apply(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECURACT_DELIVERY_HTTP_PORT", "9999")
    monkeypatch.setenv("SECURACT_DELIVERY_BUS_PREFIX", "delivery-only")
    settings = AuditSettings()
    assert settings.http_port == 8105
    assert settings.bus_prefix == ""


def test_default_store_is_a_sqlite_file_named_after_the_service_in_data_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SECURACT_DATA_DIR", str(tmp_path))
    assert AuditSettings().store_url == f"sqlite:///{tmp_path / 'audit.sqlite3'}"
    assert DeliverySettings().store_url == f"sqlite:///{tmp_path / 'delivery.sqlite3'}"


def test_explicit_store_url_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECURACT_AUDIT_STORE_URL", "mongodb://db:27017/?replicaSet=rs0")
    assert AuditSettings().store_url == "mongodb://db:27017/?replicaSet=rs0"


def test_unknown_variables_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECURACT_AUDIT_NO_SUCH_SETTING", "1")
    monkeypatch.setenv("SECURACT_NOT_A_FIELD_EITHER", "x")
    monkeypatch.setenv("UNRELATED_VARIABLE", "y")
    assert AuditSettings().http_port == 8105


def test_invalid_values_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECURACT_AUDIT_CONSUMER_MAX_ATTEMPTS", "0")
    with pytest.raises(ValidationError, match="consumer_max_attempts"):
        AuditSettings()


@pytest.mark.parametrize("mode", ["production", "test"])
def test_outside_dev_the_amqp_secret_must_be_set(
    monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    monkeypatch.setenv("SECURACT_ENV", mode)
    with pytest.raises(ValueError, match="SECURACT_AUDIT_AMQP_URL"):
        AuditSettings()


def test_production_error_names_every_missing_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECURACT_ENV", "production")
    monkeypatch.setenv("SECURACT_AMQP_URL", SECRET)
    with pytest.raises(ValueError, match="secrets") as raised:
        DeliverySettings()
    message = str(raised.value)
    assert "SECURACT_DELIVERY_S3_ACCESS_KEY" in message
    assert "SECURACT_DELIVERY_S3_SECRET_KEY" in message
    # The one that is set is not reported missing.
    assert "AMQP_URL" not in message.split("secrets set explicitly:")[1].split("[")[0]


def test_production_without_secrets_raises_missing_secret_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SECURACT_ENV", "production")
    with pytest.raises(MissingSecretError, match="SECURACT_AUDIT_AMQP_URL"):
        AuditSettings()


def test_missing_secret_error_does_not_print_the_secrets_that_are_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SECURACT_ENV", "production")
    monkeypatch.setenv("SECURACT_DELIVERY_AMQP_URL", "amqp://u:pw-7f3a9c@h/")
    with pytest.raises(ValueError, match="S3_SECRET_KEY") as raised:
        DeliverySettings()
    assert "pw-7f3a9c" not in str(raised.value)


def test_production_with_every_secret_set_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECURACT_ENV", "production")
    for name, value in DELIVERY_SECRETS.items():
        monkeypatch.setenv(name, value)
    settings = DeliverySettings()
    assert settings.env is Environment.PRODUCTION
    assert not settings.is_dev
    assert settings.s3_secret_key.get_secret_value() == "delivery-secret"


def test_platform_wide_secret_satisfies_every_service(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECURACT_ENV", "production")
    monkeypatch.setenv("SECURACT_AMQP_URL", SECRET)
    assert AuditSettings().amqp_url.get_secret_value() == SECRET


def test_a_secret_set_to_its_dev_value_explicitly_is_accepted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The rule is "set explicitly", not "differs from the default": an operator's choice.
    monkeypatch.setenv("SECURACT_ENV", "production")
    monkeypatch.setenv("SECURACT_AUDIT_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
    assert AuditSettings().env is Environment.PRODUCTION


def test_public_dict_masks_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECURACT_ENV", "production")
    for name, value in DELIVERY_SECRETS.items():
        monkeypatch.setenv(name, value)
    dumped = json.dumps(DeliverySettings().public_dict())
    assert "delivery-pass" not in dumped
    assert "delivery-secret" not in dumped
    assert "delivery-access" not in dumped
    assert '"http_port": 8103' in dumped


def test_settings_are_frozen() -> None:
    settings = AuditSettings()
    with pytest.raises(ValidationError):
        settings.http_port = 1  # type: ignore[misc]


def test_env_name_uses_the_service_prefix() -> None:
    assert AuditSettings().env_name("amqp_url") == "SECURACT_AUDIT_AMQP_URL"
    assert DeliverySettings().env_name("s3_bucket") == "SECURACT_DELIVERY_S3_BUCKET"


def test_production_refuses_local_key_files_unless_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECURACT_ENV", "production")
    monkeypatch.setenv("SECURACT_AMQP_URL", SECRET)
    monkeypatch.delenv("SECURACT_ALLOW_LOCAL_KEYS")
    with pytest.raises(LocalKeysRefusedError, match="SECURACT_KEYS=pkcs11"):
        AuditSettings()
    monkeypatch.setenv("SECURACT_ALLOW_LOCAL_KEYS", "true")
    assert AuditSettings().keys is KeyBackend.FILE


def test_dev_and_test_keep_local_key_files(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SECURACT_ALLOW_LOCAL_KEYS")
    assert AuditSettings().keys is KeyBackend.FILE
    monkeypatch.setenv("SECURACT_ENV", "test")
    monkeypatch.setenv("SECURACT_AMQP_URL", SECRET)
    assert AuditSettings().keys is KeyBackend.FILE


def test_production_with_an_hsm_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECURACT_ENV", "production")
    monkeypatch.setenv("SECURACT_AMQP_URL", SECRET)
    monkeypatch.delenv("SECURACT_ALLOW_LOCAL_KEYS")
    monkeypatch.setenv("SECURACT_KEYS", "pkcs11")
    monkeypatch.setenv("SECURACT_PKCS11_PIN", "hsm-pin-0451")
    settings = AuditSettings()
    assert settings.keys is KeyBackend.PKCS11
    assert settings.pkcs11_label_prefix == "securact/audit"
    assert settings.pkcs11_secret_pin().get_secret_value() == "hsm-pin-0451"
    assert "hsm-pin-0451" not in json.dumps(settings.public_dict()) + repr(settings)


def test_an_hsm_without_a_pin_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECURACT_KEYS", "pkcs11")
    with pytest.raises(MissingSecretError, match="SECURACT_AUDIT_PKCS11_PIN"):
        AuditSettings()


def test_the_hsm_pin_can_come_from_a_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    pin_file = tmp_path / "pin"
    pin_file.write_text("pin-from-file-7731\n")
    monkeypatch.setenv("SECURACT_KEYS", "pkcs11")
    monkeypatch.setenv("SECURACT_PKCS11_PIN_FILE", str(pin_file))
    monkeypatch.setenv("SECURACT_DELIVERY_PKCS11_LABEL_PREFIX", "securact/delivery-eu")
    settings = DeliverySettings()
    assert settings.pkcs11_secret_pin().get_secret_value() == "pin-from-file-7731"
    assert settings.pkcs11_label_prefix == "securact/delivery-eu"


# --- secrets as files (`<VARIABLE>_FILE`) ------------------------------------------------------


def _secret_file(tmp_path: Path, name: str, content: str) -> Path:
    path = tmp_path / name
    path.write_text(content)
    return path


def test_a_secret_is_read_from_the_file_its_file_variable_names(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # As `echo "$secret" > file` writes it: the trailing newline is not part of the value.
    monkeypatch.setenv("SECURACT_AMQP_URL_FILE", str(_secret_file(tmp_path, "amqp", SECRET + "\n")))
    monkeypatch.setenv("SECURACT_ENV", "production")
    settings = AuditSettings()
    assert settings.amqp_url.get_secret_value() == SECRET
    # A value from a file counts as set: production starts without the dev default.
    assert "amqp_url" in settings.model_fields_set


def test_a_service_file_wins_over_the_platform_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SECURACT_AMQP_URL", "amqp://platform:5672/")
    monkeypatch.setenv(
        "SECURACT_AUDIT_AMQP_URL_FILE", str(_secret_file(tmp_path, "audit-amqp", SECRET))
    )
    assert AuditSettings().amqp_url.get_secret_value() == SECRET
    assert DeliverySettings().amqp_url.get_secret_value() == "amqp://platform:5672/"


def test_a_service_variable_wins_over_a_platform_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SECURACT_AMQP_URL_FILE", str(_secret_file(tmp_path, "amqp", SECRET)))
    monkeypatch.setenv("SECURACT_AUDIT_AMQP_URL", "amqp://audit-only:5672/")
    assert AuditSettings().amqp_url.get_secret_value() == "amqp://audit-only:5672/"
    assert DeliverySettings().amqp_url.get_secret_value() == SECRET


def test_any_setting_may_come_from_a_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # The store URL carries the database password in production.
    url = "mongodb://delivery:pw@mongo:27017/securact_delivery?replicaSet=rs0"
    monkeypatch.setenv("SECURACT_DELIVERY_STORE_URL_FILE", str(_secret_file(tmp_path, "s", url)))
    monkeypatch.setenv("SECURACT_DELIVERY_OFFICES_FILE", str(_secret_file(tmp_path, "o", "{}")))
    settings = DeliverySettings()
    assert settings.store_url == url
    assert settings.offices == {}


def test_a_variable_and_its_file_both_set_are_refused_without_printing_either(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SECURACT_AMQP_URL", SECRET)
    monkeypatch.setenv("SECURACT_AMQP_URL_FILE", str(_secret_file(tmp_path, "amqp", SECRET)))
    with pytest.raises(SecretFileError) as raised:
        AuditSettings()
    assert "SECURACT_AMQP_URL and SECURACT_AMQP_URL_FILE" in str(raised.value)
    assert "S3cr3t" not in str(raised.value)


def test_an_unreadable_file_names_the_variable_and_the_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    missing = tmp_path / "absent"
    monkeypatch.setenv("SECURACT_AUDIT_AMQP_URL_FILE", str(missing))
    with pytest.raises(
        SecretFileError, match=f"SECURACT_AUDIT_AMQP_URL_FILE: cannot read {missing}"
    ):
        AuditSettings()


def test_a_bad_value_from_a_file_is_refused_without_printing_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(
        "SECURACT_AUDIT_HTTP_PORT_FILE", str(_secret_file(tmp_path, "port", "S3cr3t-port"))
    )
    with pytest.raises(ValidationError) as raised:
        AuditSettings()
    assert "S3cr3t" not in str(raised.value)


def test_path_settings_ending_in_file_are_not_read_as_secret_files(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # `SECURACT_KEK_FILE` is the KEK ring's path, not "the value of SECURACT_KEK in a file".
    ring = tmp_path / "kek.json"
    monkeypatch.setenv("SECURACT_KEK_FILE", str(ring))
    assert AuditSettings().kek_file == ring
    assert not ring.exists()
