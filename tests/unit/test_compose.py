"""docker-compose.yml, its deploy/ files and the Dockerfile, checked statically (no Docker engine
needed): every URL a service reads names a compose service on its port, secrets are files,
images are pinned, MongoDB has one user per service.

The secrets each service must receive are read from the services' settings classes when they
exist (every `SecretStr` field of `<name>.settings.Settings` is refused at its dev default in
production); until then a static list stands in, and `test_secrets_are_derived_from_settings`
says so by skipping.
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from jsonschema import Draft7Validator
from pydantic import SecretStr

from devstack.stack import SERVICE_PORTS

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "deploy"))
from make_secrets import main as make_secrets_main  # noqa: E402
from make_secrets import make_secrets  # noqa: E402

SERVICES = SERVICE_PORTS
INFRASTRUCTURE = (
    "caddy",
    "rabbitmq",
    "mongo",
    "seaweedfs",
    "clamav",
    "mailpit",
    "otel-collector",
    "tempo",
    "grafana",
)
S3_SERVICES = ("consent", "delivery", "retention")
STATIC_SECRETS = {
    name: {"AMQP_URL", *({"S3_ACCESS_KEY", "S3_SECRET_KEY"} if name in S3_SERVICES else set())}
    for name in SERVICES
}
REQUIRED = re.compile(r"\$\{(?P<var>[A-Z][A-Z0-9_]*):\?[^}]+\}")
INTERPOLATION = re.compile(r"\$\{(?P<var>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[?\-+])?[^}]*\}")
DEFAULTED = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*:-(?P<default>[^}]*)\}")
# URL settings whose value carries a password: given as secret files, checked through them.
SECRET_URLS = {"amqp_url": "amqp_url", "store_url": "{name}_store_url"}
# A third party's service, set per deployment (a qualified TSA): unset, checkpoints are served
# without a timestamp, nothing points into the container.
THIRD_PARTY_URLS = {"tsa_url"}
PINNED_TAG = re.compile(
    r"^(v?\d+\.\d+\.\d+([-_][\w.-]+)?|RELEASE\.\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z)$"
)
# SeaweedFS numbers its releases with two parts only (4.48 is one exact release).
TWO_PART_VERSIONS = {"chrislusf/seaweedfs": re.compile(r"^\d+\.\d+$")}
CADDY_SITE = re.compile(r"^(?P<host>[^\s(){}][^\s{]*) \{$")


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): str(v) for k, v in env.items()}


def _interpolated(text: str) -> str:
    """`text` as compose resolves it when no variable is set (defaults only)."""
    resolved = DEFAULTED.sub(lambda m: m["default"], text)
    assert "${" not in resolved, f"{text!r} needs a variable without default"
    return resolved


def _caddy_sites() -> dict[str, str]:
    """Caddy's site address -> its upstream (`reverse_proxy` target), defaults resolved."""
    text = (ROOT / "deploy/caddy/Caddyfile").read_text()
    text = re.sub(r"\{\$[A-Z_]+:(?P<default>[^}]*)\}", lambda m: m["default"], text)
    sites: dict[str, str] = {}
    host: str | None = None
    for line in text.splitlines():
        site = CADDY_SITE.match(line)
        if site:
            host = site["host"]
        elif host and line.strip().startswith("reverse_proxy "):
            sites[host] = line.split()[1]
        elif line == "}":
            host = None
    return sites


def _exposed(service: dict[str, Any]) -> set[int]:
    return {int(str(port)) for port in service.get("expose", [])}


def _resolve_url(compose: dict[str, Any], where: str, url: str) -> tuple[str, int]:
    """The compose service and port a URL reaches (through Caddy for public names)."""
    parts = urlsplit(url)
    assert parts.hostname, f"{where}: {url!r} has no host"
    port = parts.port or {"https": 443, "http": 80}[parts.scheme]
    services = compose["services"]
    if parts.hostname in services:
        target = parts.hostname
    else:
        aliases = {
            _interpolated(alias): name
            for name, service in services.items()
            if isinstance(service.get("networks"), dict)
            for network in service["networks"].values()
            if isinstance(network, dict)
            for alias in network.get("aliases", [])
        }
        assert parts.hostname in aliases, f"{where}: {parts.hostname} is no compose service"
        target = aliases[parts.hostname]
    if target != "caddy":
        assert port in _exposed(services[target]), f"{where}: {target} does not expose {port}"
        return target, port
    # Public names end at Caddy over TLS, then at the service its site proxies to.
    assert parts.scheme == "https", f"{where}: {url} reaches Caddy without TLS"
    assert any(str(p).endswith(f":{port}") for p in services["caddy"]["ports"])
    upstream = _caddy_sites().get(parts.hostname)
    assert upstream is not None, f"{where}: the Caddyfile has no site {parts.hostname}"
    return _resolve_url(compose, f"{where} via Caddy", f"http://{upstream}")


def _settings_secrets(name: str) -> set[str] | None:
    """Field names (upper case) of the service's SecretStr settings, or None when the settings
    class is not there yet."""
    try:
        module = importlib.import_module(f"{name}.settings")
    except ImportError:
        return None
    settings = getattr(module, "Settings", None)
    if settings is None:
        return None
    return {
        field.upper()
        for field, info in settings.model_fields.items()
        if info.annotation is SecretStr
    }


def _secrets(name: str) -> set[str]:
    derived = _settings_secrets(name)
    return STATIC_SECRETS[name] if derived is None else derived


def _walk_strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [
            s for key, value in node.items() for s in (*_walk_strings(key), *_walk_strings(value))
        ]
    if isinstance(node, list):
        return [s for item in node for s in _walk_strings(item)]
    return []


def test_secrets_are_derived_from_settings() -> None:
    missing = [name for name in SERVICES if _settings_secrets(name) is None]
    if missing:
        pytest.skip(f"no settings class yet for {', '.join(missing)}: checked the static list")
    for name in SERVICES:
        assert "AMQP_URL" in _secrets(name)


def test_compose_file_follows_the_compose_specification() -> None:
    spec = json.loads((ROOT / "tests/fixtures/compose/compose-spec.json").read_text())
    validator = Draft7Validator(spec)
    compose = _compose()
    errors = [f"{list(e.absolute_path)}: {e.message[:200]}" for e in validator.iter_errors(compose)]
    assert errors == []
    # The schema does catch a misspelt key (it would be ignored by an older engine).
    compose["services"]["caddy"]["healthchek"] = {}
    assert list(validator.iter_errors(compose))


def test_infrastructure_services_exist() -> None:
    services = _compose()["services"]
    assert [name for name in INFRASTRUCTURE if name not in services] == []
    # SeaweedFS is the default S3; MinIO only runs when its profile is asked for.
    assert "profiles" not in services["seaweedfs"]
    assert services["minio"]["profiles"] == ["minio"]


@pytest.mark.parametrize("name", SERVICES)
def test_service_is_built_exposed_behind_caddy_and_health_checked(name: str) -> None:
    service = _compose()["services"][name]
    port = SERVICES[name]
    assert "build" in service or "image" in service
    # Reached through Caddy only: the port is open on the network, not published on the host.
    assert str(port) in map(str, service.get("expose", []))
    assert "ports" not in service
    check = " ".join(map(str, service["healthcheck"]["test"]))
    assert f"127.0.0.1:{port}/health/ready" in check
    depends = service["depends_on"]
    assert depends["rabbitmq"]["condition"] == "service_healthy"
    assert depends["mongo"]["condition"] == "service_healthy"
    assert depends["caddy-root"]["condition"] == "service_completed_successfully"


@pytest.mark.parametrize("name", SERVICES)
def test_service_gets_every_production_secret_as_a_file(name: str) -> None:
    compose = _compose()
    service = compose["services"][name]
    env = _environment(service)
    assert env.get("SECURACT_ENV") == "production"
    for field in sorted(_secrets(name) | {"STORE_URL"}):
        # Either the platform-wide or the service's own variable may carry it, never its value.
        candidates = [f"SECURACT_{field}", f"SECURACT_{name.upper()}_{field}"]
        assert [var for var in candidates if var in env] == [], f"{name}: {field} in the env"
        present = [env[f"{var}_FILE"] for var in candidates if f"{var}_FILE" in env]
        assert len(present) == 1, f"{name} lacks {' or '.join(candidates)}_FILE"
        secret = present[0].removeprefix("/run/secrets/")
        assert present[0] == f"/run/secrets/{secret}"
        assert secret in service["secrets"], f"{name} does not mount {secret}"
        assert compose["secrets"][secret] == {"file": f"./deploy/secrets/{secret}"}


def test_every_declared_secret_is_a_file_the_script_creates(tmp_path: Path) -> None:
    created = set(make_secrets(tmp_path))
    declared = _compose()["secrets"]
    for name, secret in declared.items():
        assert set(secret) == {"file"}, f"{name}: secrets are files, not environment values"
        assert secret["file"] == f"./deploy/secrets/{name}"
        assert name in created
    assert (ROOT / ".gitignore").read_text().count("deploy/secrets/") == 1
    # Each container reads them under its own user; the directory keeps others out.
    assert tmp_path.stat().st_mode & 0o777 == 0o700


def test_secret_script_keeps_random_values_and_never_prints_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert make_secrets_main(["--dir", str(tmp_path)]) == 0
    first = {p.name: p.read_text() for p in tmp_path.iterdir()}
    assert make_secrets_main(["--dir", str(tmp_path)]) == 0
    second = {p.name: p.read_text() for p in tmp_path.iterdir()}
    # Regenerating would lock the services out of users MongoDB created at its first start.
    assert second["identity_store_url"] == first["identity_store_url"]
    assert second["amqp_url"] == first["amqp_url"]
    printed = capsys.readouterr().out
    assert all(value.strip() not in printed for value in first.values())


def test_amqp_url_matches_the_rabbitmq_user_definition(tmp_path: Path) -> None:
    make_secrets(tmp_path)
    url = urlsplit((tmp_path / "amqp_url").read_text().strip())
    definitions = json.loads((tmp_path / "rabbitmq_definitions").read_text())
    users = {user["name"]: user for user in definitions["users"]}
    user = users[url.username or ""]
    raw = base64.b64decode(user["password_hash"])
    assert user["hashing_algorithm"] == "rabbit_password_hashing_sha256"
    assert raw[4:] == hashlib.sha256(raw[:4] + (url.password or "").encode()).digest()
    assert user["tags"] == []  # the services' user is no administrator
    assert "rabbitmq_definitions" in _compose()["services"]["rabbitmq"]["secrets"]
    conf = (ROOT / "deploy/rabbitmq/rabbitmq.conf").read_text()
    assert "load_definitions = /run/secrets/rabbitmq_definitions" in conf


@pytest.mark.parametrize("name", SERVICES)
def test_service_store_is_its_own_mongodb_database_and_user_on_the_replica_set(
    name: str, tmp_path: Path
) -> None:
    make_secrets(tmp_path)
    url = urlsplit((tmp_path / f"{name}_store_url").read_text().strip())
    query = parse_qs(url.query)
    assert (url.scheme, url.hostname, url.port) == ("mongodb", "mongo", 27017)
    assert url.username == name
    assert url.path == f"/securact_{name}"
    assert query == {"replicaSet": ["rs0"], "authSource": [f"securact_{name}"]}
    env = _environment(_compose()["services"][name])
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"].startswith("http://otel-collector:")


def test_mongo_init_creates_one_user_per_service_with_read_write_on_its_own_database(
    tmp_path: Path,
) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the init script is not run")
    make_secrets(tmp_path)
    # mongosh is Node: the script runs in node against a recording `db`.
    harness = (
        "const calls = [];"
        "globalThis.db = {getSiblingDB: (name) => ({createUser: (u) => calls.push([name, u])})};"
        f"require({json.dumps(str(ROOT / 'deploy/mongo/init-users.js'))});"
        "console.log(JSON.stringify(calls));"
    )
    result = subprocess.run(
        [node, "-e", harness],
        env={"SECURACT_SECRETS_DIR": str(tmp_path), "PATH": os.environ.get("PATH", "")},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    calls = json.loads(result.stdout)
    assert sorted(database for database, _ in calls) == sorted(f"securact_{n}" for n in SERVICES)
    for database, user in calls:
        name = database.removeprefix("securact_")
        password = urlsplit((tmp_path / f"{name}_store_url").read_text().strip()).password
        assert user == {
            "user": name,
            "pwd": password,
            "roles": [{"role": "readWrite", "db": database}],
        }
    mongo = _compose()["services"]["mongo"]
    assert (
        "./deploy/mongo/init-users.js:/docker-entrypoint-initdb.d/10-users.js:ro"
        in (mongo["volumes"])
    )
    assert {f"{n}_store_url" for n in SERVICES} <= set(mongo["secrets"])


def test_every_interpolation_is_required_or_defaulted() -> None:
    # A bare ${VAR} silently becomes empty when unset: each must say what happens instead.
    for text in _walk_strings(_compose()):
        for match in INTERPOLATION.finditer(text):
            assert match["op"] is not None, f"${{{match['var']}}} has neither :? nor :-"


def test_mongo_runs_as_an_authenticated_replica_set_initiated_by_its_healthcheck() -> None:
    mongo = _compose()["services"]["mongo"]
    assert "--replSet" in mongo["command"]
    # A keyfile implies authorization; the root password comes from a file.
    assert "--keyFile" in mongo["command"]
    assert mongo["environment"]["MONGO_INITDB_ROOT_PASSWORD_FILE"] == (
        "/run/secrets/mongo_root_password"
    )
    check = " ".join(mongo["healthcheck"]["test"])
    assert "rs.initiate" in check
    assert "/run/secrets/mongo_root_password" in check


def test_referenced_deploy_files_exist() -> None:
    compose = _compose()
    sources = []
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0] if isinstance(volume, str) else volume.get("source")
            if source and source.startswith("."):
                sources.append(source)
        build = service.get("build")
        if isinstance(build, dict):
            sources.append(str(Path(build.get("context", ".")) / build.get("dockerfile", "")))
    assert sources, "compose mounts no deploy/ files"
    assert [s for s in sources if not (ROOT / s).exists()] == []


def test_grafana_provisions_tempo_and_a_dashboard() -> None:
    datasources = yaml.safe_load(
        (ROOT / "deploy/grafana/provisioning/datasources/tempo.yaml").read_text()
    )
    assert [d["type"] for d in datasources["datasources"]] == ["tempo"]
    assert list((ROOT / "deploy/grafana/dashboards").glob("*.json"))


def test_dockerfile_is_multi_stage_uses_uv_cache_and_runs_as_non_root() -> None:
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text().splitlines()]
    stages = [line for line in lines if line.upper().startswith("FROM ")]
    assert len(stages) >= 2
    assert any("--mount=type=cache" in line and "uv" in line for line in lines)
    final = lines[lines.index(stages[-1]) :]
    users = [line.split(None, 1)[1] for line in final if line.upper().startswith("USER ")]
    assert users, "the runtime stage sets no USER"
    assert users[-1].split(":")[0] not in {"root", "0"}
    assert any("securact-${SECURACT_SERVICE}" in line for line in final)


@pytest.mark.parametrize("name", sorted(SERVICE_PORTS))
def test_dev_stack_ports_are_the_services_own_defaults(name: str) -> None:
    settings = importlib.import_module(f"{name}.settings").Settings
    assert settings.default_port == SERVICE_PORTS[name]


@pytest.mark.parametrize("name", SERVICES)
def test_service_keeps_its_key_files_on_a_named_volume(name: str) -> None:
    # The relative defaults (var/keys/...) resolve under the image's working directory.
    compose = _compose()
    mounts = compose["services"][name].get("volumes", [])
    assert f"{name}-keys:/var/lib/securact/var/keys" in mounts
    assert f"{name}-keys" in compose["volumes"]
    fields = importlib.import_module(f"{name}.settings").Settings.model_fields
    key_files = [f for f in ("kek_file", "signing_key_file", "token_key_file") if f in fields]
    assert key_files
    for key_file in key_files:
        assert fields[key_file].default.parent == Path("var/keys"), key_file


def _url_fields(name: str) -> dict[str, Any]:
    settings = importlib.import_module(f"{name}.settings").Settings
    return {
        field: info.default
        for field, info in settings.model_fields.items()
        if field.endswith("_url") or field == "s3_endpoint"
    }


@pytest.mark.parametrize("name", SERVICES)
def test_every_url_setting_a_service_reads_points_at_a_compose_service_on_its_port(
    name: str, tmp_path: Path
) -> None:
    # Left at their defaults (127.0.0.1), portal pages, receipts in evidence and e-mailed
    # links would point into the service's own container.
    compose = _compose()
    env = {k: _interpolated(v) for k, v in _environment(compose["services"][name]).items()}
    make_secrets(tmp_path)
    fields = _url_fields(name)
    assert {"amqp_url", "store_url", "identity_url"} <= set(fields)
    for field, default in fields.items():
        where = f"{name}.{field}"
        if field in THIRD_PARTY_URLS:
            continue
        if field in SECRET_URLS:
            value = (tmp_path / SECRET_URLS[field].format(name=name)).read_text().strip()
        else:
            candidates = [f"SECURACT_{name.upper()}_{field.upper()}", f"SECURACT_{field.upper()}"]
            value = next((env[var] for var in candidates if var in env), "")
            assert value, f"{where} is not set: it would be {default!r} in the container"
        if field == "s3_endpoint":
            value = f"http://{value}"
        if field == "clamd_url":
            value = value.replace("tcp://", "http://")
        _resolve_url(compose, where, value)


def test_caddy_serves_every_service_over_tls_and_its_names_resolve_to_it() -> None:
    compose = _compose()
    caddy = compose["services"]["caddy"]
    sites = _caddy_sites()
    assert sorted(sites.values()) == sorted(f"{n}:{p}" for n, p in SERVICES.items())
    aliases = {_interpolated(a) for a in caddy["networks"]["securact"]["aliases"]}
    assert aliases == set(sites)
    assert "local_certs" in (ROOT / "deploy/caddy/Caddyfile").read_text()
    # Services trust X-Forwarded-For from Caddy's fixed address only.
    address = caddy["networks"]["securact"]["ipv4_address"]
    for name in SERVICES:
        env = _environment(compose["services"][name])
        assert env["FORWARDED_ALLOW_IPS"] == address
        assert env["SSL_CERT_FILE"] == "/caddy-root/ca-bundle.crt"


def _image_is_pinned(image: str) -> bool:
    if re.search(r"@sha256:[0-9a-f]{64}$", image):
        return True
    name, _, tag = image.rpartition(":")
    if not name or "/" in tag:
        return False
    exact = TWO_PART_VERSIONS.get(name)
    return bool(PINNED_TAG.match(tag) or (exact and exact.match(tag)))


@pytest.mark.parametrize(
    ("image", "pinned"),
    [
        ("rabbitmq:4.1.2-management", True),
        ("rabbitmq:4.1-management", False),
        ("mongo:8.0", False),
        ("mongo", False),
        ("caddy:latest", False),
        ("chrislusf/seaweedfs:4.48", True),
        ("otel/opentelemetry-collector-contrib:0.128", False),
        ("minio/minio:RELEASE.2025-04-22T22-12-26Z", True),
        ("caddy@sha256:" + "a" * 64, True),
    ],
)
def test_pinning_rule(image: str, pinned: bool) -> None:
    assert _image_is_pinned(image) is pinned


def test_no_image_floats() -> None:
    for name, service in _compose()["services"].items():
        if "build" in service:
            continue  # built here from the pinned Dockerfile
        assert _image_is_pinned(_interpolated(service["image"])), f"{name}: {service['image']}"
    text = (ROOT / "Dockerfile").read_text()
    args = dict(re.findall(r"^ARG (\w+)=(\S+)$", text, flags=re.MULTILINE))
    for line in re.findall(r"^FROM (\S+)", text, flags=re.MULTILINE):
        image = re.sub(r"\$\{(\w+)\}", lambda m: args[m[1]], line)
        assert _image_is_pinned(image), f"Dockerfile: {image}"


def test_no_secret_value_sits_in_an_environment() -> None:
    secretish = re.compile(r"PASSWORD|PASS$|SECRET|PEPPER|TOKEN|ACCESS_KEY|AMQP_URL|STORE_URL")
    for name, service in _compose()["services"].items():
        for var in _environment(service):
            if secretish.search(var):
                assert var.endswith("_FILE"), f"{name}: {var} must be given as a file"


@pytest.mark.parametrize("name", SERVICES)
def test_service_settings_start_in_production_from_the_compose_environment(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The container's view: its compose environment, its secrets under /run/secrets/.
    make_secrets(tmp_path)
    for var in list(os.environ):
        if var.upper().startswith("SECURACT_"):
            monkeypatch.delenv(var)
    env = _environment(_compose()["services"][name])
    for var, value in env.items():
        monkeypatch.setenv(var, _interpolated(value).replace("/run/secrets/", f"{tmp_path}/"))
    settings = importlib.import_module(f"{name}.settings").Settings()
    assert settings.env.value == "production"
    assert settings.store_url == (tmp_path / f"{name}_store_url").read_text().strip()
    assert settings.amqp_url.get_secret_value() == (tmp_path / "amqp_url").read_text().strip()
    assert settings.identity_url == "https://securact.localhost"
