"""Every service answers as its own OpenAPI says (schemathesis, over real HTTP).

Each service's app is built as its integration tests build it (real SQLite, real RabbitMQ under
a test prefix, real SeaweedFS where it keeps objects), served by uvicorn, and every operation
of its document gets a bounded number of generated requests, valid and invalid, each with a
valid token of one of the platform's roles. A 5xx, a status the document does not list, an
undocumented content type or a body that breaks the documented schema fails the test.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import hypothesis.strategies as st
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from pydantic import SecretStr
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from identity.domain import OFFICE_SCOPES, OPERATOR_SCOPES, RECIPIENT_SCOPES
from shared.clock import SystemClock
from tests.fixtures.seaweed import S3Server, random_bucket_name
from tests.integration.identity.support import identity_app
from tests.support.services import ServedInThread, service_env
from tests.support.tokens import TokenSigner

EXAMPLES_PER_OPERATION: Final = 10
CHECKS: Final = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Readiness answers a documented 503 while a dependency is away (e.g. the broker restarting for
# another test): that is its job, not a server error.
READINESS_CHECKS: Final = [c for c in CHECKS if c is not not_a_server_error]

# Operations known to break their document for reasons of their own service, each with why
# (the kernel's part is fixed; these wait for a change in the service). Keyed by
# (service, "METHOD /path").
KNOWN_FAILURES: Final[dict[tuple[str, str], str]] = {}

OFFICE_ID: Final = "etude-1"


@dataclass(frozen=True)
class Caller:
    role: str
    subject: str
    scopes: frozenset[str]
    office_id: str | None = None


CALLERS: Final = (
    Caller("office", f"client-{OFFICE_ID}", OFFICE_SCOPES, OFFICE_ID),
    Caller("recipient", "01JRECIPIENT0000000000000", RECIPIENT_SCOPES),
    Caller("operator", "01JOPERATOR00000000000000", OPERATOR_SCOPES),
)


def _signed_bearers(signer: TokenSigner) -> list[dict[str, str]]:
    return [
        signer.bearer(
            sub=caller.subject,
            role=caller.role,
            scope=" ".join(sorted(caller.scopes)),
            office_id=caller.office_id,
        )
        for caller in CALLERS
    ]


def _identity_bearers(app: FastAPI) -> list[dict[str, str]]:
    issuer = app.state.identity.ctx.issuer
    return [
        {
            "Authorization": "Bearer "
            + issuer.issue(
                caller.subject,
                role=caller.role,
                scopes=caller.scopes,
                office_id=caller.office_id,
            ).token
        }
        for caller in CALLERS
    ]


def _s3(s3: S3Server) -> dict[str, Any]:
    return {
        "s3_endpoint": s3.endpoint,
        "s3_access_key": SecretStr(s3.access_key),
        "s3_secret_key": SecretStr(s3.secret_key),
        "s3_bucket": random_bucket_name(),
    }


def _keys(data_dir: Path) -> dict[str, Any]:
    return {"kek_file": data_dir / "kek.json", "signing_key_file": data_dir / "signing.json"}


def _service(name: str, *, objects: bool) -> Callable[[Path, str, S3Server, TokenSigner], FastAPI]:
    """How the service's integration tests build it, with a verifier trusting `signer`."""

    def build(data_dir: Path, prefix: str, s3: S3Server, signer: TokenSigner) -> FastAPI:
        settings_class: Any = importlib.import_module(f"{name}.settings").Settings
        values: dict[str, Any] = {**service_env(data_dir, prefix), **_keys(data_dir)}
        if objects:
            values.update(_s3(s3))
        if name == "consent":
            values["search_pepper"] = "conformance-pepper"
        create_app = importlib.import_module(f"{name}.main").create_app
        app: FastAPI = create_app(settings_class(**values), token_verifier=signer.verifier())
        return app

    return build


BUILDS: Final = {
    "audit": _service("audit", objects=False),
    "consent": _service("consent", objects=True),
    "delivery": _service("delivery", objects=True),
    "notify": _service("notify", objects=False),
    "retention": _service("retention", objects=True),
}


@dataclass
class Failure:
    operation: str
    detail: str


def _operations(spec: dict[str, Any]) -> Iterator[Any]:
    schema = schemathesis.openapi.from_dict(spec)
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise result.err()
        yield result.ok()


def _fuzz(operation: Any, base_url: str, bearers: list[dict[str, str]]) -> list[str]:
    """What went wrong for one operation (the first two failures; no shrinking)."""
    found: list[str] = []
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases, bearer=st.sampled_from(bearers))
    def run(case: Any, bearer: dict[str, str]) -> None:
        headers = {**(case.headers or {}), **bearer}
        response = case.call(base_url=base_url, headers=headers)
        try:
            checks = READINESS_CHECKS if case.path == "/health/ready" else CHECKS
            case.validate_response(response, checks=checks, headers=headers)
        except (Exception, FailureGroup) as error:
            if len(found) < 2:
                request = response.request
                found.append(
                    f"{request.method} {request.url} -> {response.status_code}: {_summary(error)}"
                )

    run()
    return found


def _exercise(
    service: str, app: FastAPI, callers: Callable[[], list[dict[str, str]]]
) -> list[Failure]:
    failures: list[Failure] = []
    with ServedInThread(app) as base_url:
        bearers = callers()  # once the app runs (identity makes its keys at start)
        for operation in _operations(app.openapi()):
            label = f"{operation.method.upper()} {operation.path}"
            if (service, label) not in KNOWN_FAILURES:
                failures += [Failure(label, d) for d in _fuzz(operation, base_url, bearers)]
    return failures


def _summary(error: BaseException) -> str:
    # The check's name and what it saw; the reproduction recipe is left out.
    text = str(error).split("Reproduce with:")[0]
    return " ".join(text.split())[:400]


def _report(service: str, failures: list[Failure]) -> str:
    lines = [f"{service}: {len(failures)} non-conforming answer(s)"]
    lines += [f"- {f.operation}\n  {f.detail}" for f in failures]
    return "\n".join(lines)


@pytest.mark.parametrize("service", sorted(BUILDS))
def test_the_service_answers_as_its_openapi_says(
    service: str, tmp_path: Path, bus_prefix: str, s3_server: S3Server
) -> None:
    signer = TokenSigner(SystemClock(), service)
    app = BUILDS[service](tmp_path, bus_prefix, s3_server, signer)
    failures = _exercise(service, app, lambda: _signed_bearers(signer))
    assert not failures, _report(service, failures)


def test_identity_answers_as_its_openapi_says(tmp_path: Path, bus_prefix: str) -> None:
    app = identity_app(tmp_path, bus_prefix)
    failures = _exercise("identity", app, lambda: _identity_bearers(app))
    assert not failures, _report("identity", failures)
