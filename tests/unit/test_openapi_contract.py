"""Each service's OpenAPI is one an integrator can generate a client from: a valid OpenAPI 3.1
document, every operation with its security (unless public), a 2xx schema, a stable id, the
main operations with examples, and the problem types the code raises; /docs works offline."""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any, Final

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from openapi_spec_validator import validate

from tests.support.services import service_env

SERVICES: Final = ("audit", "consent", "delivery", "identity", "notify", "retention")
ROOT: Final = Path(__file__).resolve().parents[2]

# Operations anyone may call, each group with why. Everything else must declare its security.
PUBLIC: Final[dict[str, str]] = {
    r"^GET /health/(live|ready)$": "probes",
    r"^GET /asyncapi\.(json|yaml)$": "the event contracts",
    r"^GET /\.well-known/jwks\.json$": "identity's public keys",
    r"^POST /oauth/token$": "the token endpoint authenticates the client itself",
    r"^GET /v1/revocations$": "revoked session ids, read by every service",
    r"^POST /v1/sessions(/refresh)?$": "login (password, TOTP) and refresh (its own token)",
    r"^POST /v1/(activations|link-checks|password-resets(/completion)?|email-confirmations)$": (
        "an e-mailed link"
    ),
    r"^GET /v1/terms/(current|upcoming)$": "the CGU are public",
    r"^GET /v1/(evidence|certificates)/keys$": "the platform's public keys",
    r"^GET /v1/certificates/\{certificate_id\}/\{token\}\.\{kind\}$": "link token in the URL",
    r"^GET /v1/(status|incidents/\{incident_id\}(/attestation(\.pdf)?)?)$": "the status is public",
    # The audit journal is a public transparency log (C2SP tlog): payloads are sealed.
    r"^GET /v1/(checkpoints?|witnesses|entries|proofs|receipts|verifier-keys|head|stats)\b": "log",
}
# The main operations: an integrator's first calls, each with request and answer examples.
MAIN_OPERATIONS: Final = {
    ("identity", "POST", "/oauth/token"),
    ("consent", "POST", "/v1/declarations"),
    ("delivery", "POST", "/v1/acts"),
    ("delivery", "GET", "/v1/acts/{act_id}/evidence"),
}
METHODS: Final = {"get", "put", "post", "delete", "patch", "head", "options"}


def _app(name: str, tmp_path: Path) -> FastAPI:
    settings: Any = importlib.import_module(f"{name}.settings").Settings
    values = {
        **service_env(tmp_path, "never-"),
        "kek_file": tmp_path / "kek.json",
        "signing_key_file": tmp_path / "signing.json",
    }
    app: FastAPI = importlib.import_module(f"{name}.main").create_app(settings(**values))
    return app


@pytest.fixture(scope="module")
def specs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    return {name: _app(name, tmp_path_factory.mktemp(name)).openapi() for name in SERVICES}


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def _public(method: str, path: str) -> bool:
    return any(re.search(pattern, f"{method} {path}") for pattern in PUBLIC)


def _has_example(node: dict[str, Any]) -> bool:
    return any("example" in c or "examples" in c for c in node.get("content", {}).values())


@pytest.mark.parametrize("name", SERVICES)
def test_the_document_is_valid_openapi(name: str, specs: dict[str, dict[str, Any]]) -> None:
    validate(specs[name])


@pytest.mark.parametrize("name", SERVICES)
def test_every_operation_needing_a_token_says_which(
    name: str, specs: dict[str, dict[str, Any]]
) -> None:
    spec = specs[name]
    schemes = spec["components"]["securitySchemes"]
    assert schemes["clientCredentials"]["flows"]["clientCredentials"]["tokenUrl"].endswith(
        "/oauth/token"
    )
    assert schemes["bearerJWT"] == {**schemes["bearerJWT"], "scheme": "bearer"}
    missing = [
        f"{method} {path}"
        for method, path, operation in _operations(spec)
        if not operation.get("security") and not _public(method, path)
    ]
    assert not missing, f"{name}: operations without a security scheme: {missing}"


def test_the_security_is_derived_from_the_route_s_dependencies(
    specs: dict[str, dict[str, Any]],
) -> None:
    deposit = specs["delivery"]["paths"]["/v1/acts"]["post"]
    assert deposit["security"] == [{"clientCredentials": ["acts:write"]}, {"bearerJWT": []}]
    # An operator-only route: a session token, never client credentials.
    register_client = specs["identity"]["paths"]["/v1/clients"]["post"]
    assert register_client["security"] == [{"bearerJWT": []}]
    assert "security" not in specs["identity"]["paths"]["/oauth/token"]["post"]


@pytest.mark.parametrize("name", SERVICES)
def test_every_operation_documents_its_success_schema(
    name: str, specs: dict[str, dict[str, Any]]
) -> None:
    lacking = []
    for method, path, operation in _operations(specs[name]):
        answers = {s: r for s, r in operation["responses"].items() if s.startswith("2")}
        assert answers, f"{method} {path}: no 2xx response"
        for status, response in answers.items():
            if status == "204":
                continue  # no content, by definition
            contents = response.get("content", {})
            if not contents or not all(c.get("schema") for c in contents.values()):
                lacking.append(f"{method} {path} {status}")
    assert not lacking, f"{name}: 2xx without a schema: {lacking}"


@pytest.mark.parametrize("name", SERVICES)
def test_operation_ids_are_stable_names(name: str, specs: dict[str, dict[str, Any]]) -> None:
    ids = [operation["operationId"] for _, _, operation in _operations(specs[name])]
    assert len(ids) == len(set(ids)), f"duplicate operation ids: {ids}"
    for method, path, operation in _operations(specs[name]):
        tag = operation.get("tags", ["default"])[0]
        assert operation["operationId"].startswith(f"{tag}_"), (method, path)
        # FastAPI's default repeats the path and ends with the method.
        assert not operation["operationId"].endswith(f"_{method.lower()}"), (method, path)


def test_the_main_operations_have_examples(specs: dict[str, dict[str, Any]]) -> None:
    for service, method, path in MAIN_OPERATIONS:
        operation = specs[service]["paths"][path][method.lower()]
        if "requestBody" in operation:
            assert _has_example(operation["requestBody"]), (service, method, path, "request")
        answers = [r for s, r in operation["responses"].items() if s.startswith("2")]
        assert any(_has_example(r) for r in answers), (service, method, path, "response")


def test_the_idempotency_key_of_a_deposit_is_required(specs: dict[str, dict[str, Any]]) -> None:
    parameters = specs["delivery"]["paths"]["/v1/acts"]["post"]["parameters"]
    (key,) = [p for p in parameters if p["name"] == "Idempotency-Key"]
    assert key["in"] == "header"
    assert key["required"] is True
    assert key["schema"]["type"] == "string"


def _literal_problem_codes(package_dir: Path) -> set[str]:
    # The simplest literal forms in the source (not quoted in a docstring, between backticks);
    # the catalogue must hold at least these.
    pattern = re.compile(
        r'(?<!`)problem_type\("([a-z0-9-]+)"\)|^[ ]+code(?::\s*str)?\s*=\s*"([a-z0-9-]+)"',
        re.M,
    )
    found: set[str] = set()
    for path in package_dir.rglob("*.py"):
        for match in pattern.finditer(path.read_text(encoding="utf-8")):
            found.add(match.group(1) or match.group(2))
    return found


@pytest.mark.parametrize("name", SERVICES)
def test_the_problem_types_the_code_raises_are_listed(
    name: str, specs: dict[str, dict[str, Any]]
) -> None:
    listed = set(specs[name]["components"]["schemas"]["ProblemType"]["enum"])
    codes = _literal_problem_codes(ROOT / "services" / name / "src" / name)
    codes |= _literal_problem_codes(ROOT / "shared" / "src" / "shared")
    expected = {f"urn:securact:problem:{code}" for code in codes}
    assert expected <= listed, sorted(expected - listed)
    # The kernel's own, raised by every service.
    assert {
        "urn:securact:problem:unauthenticated",
        "urn:securact:problem:database-unavailable",
        "urn:securact:problem:request-body-too-large",
    } <= listed


def test_identity_s_refusals_are_listed(specs: dict[str, dict[str, Any]]) -> None:
    listed = set(specs["identity"]["components"]["schemas"]["ProblemType"]["enum"])
    # `IdentityError(401, "invalid-credentials", …)`: not a class attribute, still collected.
    assert "urn:securact:problem:invalid-credentials" in listed
    assert "urn:securact:problem:too-many-attempts" in listed


def test_swagger_ui_and_redoc_are_served_from_packaged_assets(tmp_path: Path) -> None:
    client = TestClient(_app("notify", tmp_path))  # no lifespan: nothing connects
    for page, asset in (("/docs", "swagger-ui-bundle.js"), ("/redoc", "redoc.standalone.js")):
        html = client.get(page)
        assert html.status_code == 200
        assert f"/docs-assets/{asset}" in html.text
        assert "cdn.jsdelivr.net" not in html.text
        assert "fonts.googleapis" not in html.text
        script = client.get(f"/docs-assets/{asset}")
        assert script.status_code == 200
        assert len(script.content) > 100_000
    assert client.get("/docs-assets/swagger-ui.css").status_code == 200
