"""No event carries a credential: audit journals every event and keeps the payloads for years,
readable by an operator. A field whose name or description marks a secret (a token, a secret,
a password, a code, a link or URL that may carry one…) fails this test unless it is listed
below with the reason it is not one. Nested models are walked too."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from shared.contracts import registered
from shared.messaging.topology import PLATFORM_QUEUES

# Words that, as a part of a field name (split on "_"), say the value may be a credential.
SECRET_NAME_PARTS = frozenset(
    {
        "token",
        "tokens",
        "secret",
        "secrets",
        "password",
        "passwords",
        "passphrase",
        "credential",
        "credentials",
        "code",
        "codes",
        "otp",
        "totp",
        "pin",
        "key",
        "cookie",
        "url",
        "uri",
        "link",
        "nonce",
    }
)
# In a description: the value *is* one of these (a plural "tokens" describes, it does not hold).
SECRET_DESCRIPTION = re.compile(
    r"\b(token|secret|password|passphrase|credential|one-time code|recovery code|otp|"
    r"totp|api key|private key)\b|\?token=",
    re.IGNORECASE,
)

# (routing key, field path): why the field is not a credential.
NOT_SECRETS: dict[tuple[str, str], str] = {
    ("consent.registry-consulted.v1", "consulter"): (
        "the subject (client or account id) of the consulting token, never the token"
    ),
    ("consent.declaration-purged.v1", "proofs.wrapped_key_sha256"): (
        "SHA-256 of a wrapped data key destroyed by the purge: evidence of the shredding; the "
        "key itself is gone and was only ever stored wrapped"
    ),
    ("delivery.act-rejected.v1", "reasons.code"): (
        "a stable reason code such as consent_revoked or window_closed"
    ),
    ("delivery.act-served.v1", "portal_url"): (
        "the portal's login page, the same for every recipient; it grants nothing by itself"
    ),
    ("delivery.act-served.v2", "portal_url"): "same as v1's portal_url",
    ("delivery.act-served.v3", "portal_url"): "same as v1's portal_url",
    ("identity.activation-link-issued.v2", "link_id"): (
        "an opaque UUID naming identity's link record; only a service holding the links:read "
        "client credential can exchange it for the link, while the link is unused"
    ),
    ("identity.password-reset-requested.v2", "link_id"): ("same as the activation link's link_id"),
    ("identity.email-change-requested.v1", "link_id"): (
        "same as the activation link's link_id (the confirmation link of a new address)"
    ),
    ("retention.erasure-certificate-issued.v2", "key_id"): (
        "the id of the platform's public signing key (it verifies the certificate offline)"
    ),
    ("retention.erasure-certified.v1", "key_id"): "same: a public key's id",
    ("retention.outage-attested.v1", "key_id"): "same: it verifies the outage attestation",
}

# Carried a credential: withdrawn from the registry (no contract, no binding, no planner).
WITHDRAWN = (
    "identity.activation-link-issued.v1",
    "identity.password-reset-requested.v1",
    "retention.erasure-certificate-issued.v1",
)

# A credential still in an event, in another service's contract, to be retired the same way
# (a V2 without it): each is a known defect, listed so that it cannot spread unnoticed and
# removed from here when fixed (the test below fails once the field is gone).
KNOWN_CREDENTIALS_TO_RETIRE: dict[tuple[str, str], str] = {}


def _fields(schema: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every property of the schema and of its nested models, as (dotted path, schema)."""
    definitions = schema.get("$defs", {})

    def walk(node: dict[str, Any], prefix: str, seen: frozenset[str]) -> Iterator[Any]:
        for name, prop in node.get("properties", {}).items():
            path = f"{prefix}{name}"
            yield path, prop
            for ref in _refs(prop):
                target = ref.rsplit("/", 1)[-1]
                if target in definitions and target not in seen:
                    yield from walk(definitions[target], f"{path}.", seen | {target})

    yield from walk(schema, "", frozenset())


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def marks_a_secret(path: str, prop: dict[str, Any]) -> bool:
    name = path.rsplit(".", 1)[-1].lower()
    if SECRET_NAME_PARTS & set(name.split("_")):
        return True
    return bool(SECRET_DESCRIPTION.search(str(prop.get("description", ""))))


def secret_looking_fields() -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for key, contract in registered().items():
        for path, prop in _fields(contract.model_json_schema()):
            if marks_a_secret(path, prop):
                found.add((key, path))
    return found


def test_no_event_in_use_has_a_field_that_marks_a_credential() -> None:
    flagged = {
        (key, path)
        for key, path in secret_looking_fields()
        if (key, path) not in NOT_SECRETS and (key, path) not in KNOWN_CREDENTIALS_TO_RETIRE
    }
    assert flagged == set(), "a credential in an event is journaled for years: publish a V2"


def test_the_lists_name_fields_that_exist_and_are_flagged() -> None:
    # An entry whose field is gone (fixed, renamed) must leave the list with it.
    flagged = secret_looking_fields()
    assert set(NOT_SECRETS) <= flagged
    assert set(KNOWN_CREDENTIALS_TO_RETIRE) <= flagged


def test_the_events_that_carried_a_link_are_withdrawn_everywhere() -> None:
    assert not set(WITHDRAWN) & set(registered())
    assert not {key for bindings in PLATFORM_QUEUES.values() for key in bindings} & set(WITHDRAWN)


def test_the_check_catches_a_credential_by_name_by_description_and_in_a_nested_model() -> None:
    from pydantic import BaseModel, Field

    class Inner(BaseModel):
        reset_url: str

    class Probe(BaseModel):
        account_id: str
        invitation: str = Field(description="the one-time code to type")
        session_token: str
        nested: Inner

    flagged = {
        path for path, prop in _fields(Probe.model_json_schema()) if marks_a_secret(path, prop)
    }
    assert flagged == {"invitation", "session_token", "nested.reset_url"}
