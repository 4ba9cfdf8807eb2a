"""`securact-operator` against identity served over HTTP (uvicorn, SQLite, RabbitMQ): an
operator registers, rotates, disables and enables an office client, publishes CGU, suspends and
reinstates an account; identity's refusals come back as the problem they are; a wrong password
or a non-operator never gets to act."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Final

import httpx
import pytest

from identity.operator_cli import EXIT_OK, EXIT_REFUSED, EXIT_UNAVAILABLE, main
from shared.clock import SystemClock
from tests.integration.identity.support import identity_app
from tests.support.services import ServedInThread

OPERATOR: Final = "ops-console"
PASSWORD: Final = "phrase-de-passe-operateur-solide"


def _create_operator(store_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SECURACT_")} | {
        "SECURACT_IDENTITY_STORE_URL": store_url,
        "SECURACT_IDENTITY_ARGON2_TIME_COST": "1",
        "SECURACT_IDENTITY_ARGON2_MEMORY_COST_KIB": "8",
        "SECURACT_LOG_JSON": "false",
    }
    subprocess.run(
        [
            str(Path(sys.executable).parent / "securact-identity"),
            "create-operator",
            "--identifier",
            OPERATOR,
            "--password-stdin",
        ],
        input=f"{PASSWORD}\n",
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def identity_url(tmp_path: Path, bus_prefix: str) -> Iterator[str]:
    app = identity_app(tmp_path, bus_prefix)
    with ServedInThread(app) as base_url:
        _create_operator(app.state.runtime.settings.store_url)
        yield base_url


def _operator(url: str, *argv: str, password: str = PASSWORD) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(
        ["--identity-url", url, "--operator", OPERATOR, "--password-stdin", *argv],
        out=out,
        err=err,
        stdin=io.StringIO(f"{password}\n"),
    )
    return status, out.getvalue(), err.getvalue()


def _token_status(url: str, client_id: str, secret: str) -> int:
    response = httpx.post(
        f"{url}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id, secret),
        timeout=10,
    )
    return response.status_code


def _secret(out: str) -> str:
    return out.rsplit(": ", 1)[1].strip()


def test_an_operator_manages_an_office_client_through_the_api(identity_url: str) -> None:
    status, out, err = _operator(
        identity_url,
        *("client", "register", "--office-id", "etude-9", "--bailiff-name", "Maître Neuf"),
        *("--scope", "acts:write", "--scope", "acts:read"),
    )
    assert status == EXIT_OK, out
    assert f"identity: {identity_url}\noperator: {OPERATOR}\n" == err
    client_id = out.split()[1]
    secret = _secret(out.splitlines()[1])
    assert _token_status(identity_url, client_id, secret) == 200

    status, out, _ = _operator(identity_url, "client", "rotate-secret", client_id)
    assert status == EXIT_OK, out
    rotated = _secret(out)
    assert _token_status(identity_url, client_id, secret) == 401
    assert _token_status(identity_url, client_id, rotated) == 200

    assert _operator(identity_url, "client", "disable", client_id)[0] == EXIT_OK
    assert _token_status(identity_url, client_id, rotated) == 401
    assert _operator(identity_url, "client", "enable", client_id)[0] == EXIT_OK
    assert _token_status(identity_url, client_id, rotated) == 200


def test_identity_s_refusal_is_shown_as_its_problem(identity_url: str) -> None:
    status, out, _ = _operator(
        identity_url, "account", "suspend", "01JNOSUCHACCOUNT", "--reason", "x"
    )
    assert status == EXIT_REFUSED
    assert out.startswith("refused: 404 ")
    assert "(urn:securact:problem:account-not-found)" in out
    status, out, _ = _operator(identity_url, "account", "reinstate", "01JNOSUCHACCOUNT")
    assert status == EXIT_REFUSED


def test_a_death_is_recorded_through_identity_s_api(identity_url: str) -> None:
    """The command reaches `POST /v1/accounts/{id}/death`; the recording itself is tested on
    identity (unit) and end to end (tests/e2e/test_post_mortem_directives.py)."""
    death = ("--died-on", "2026-11-30", "--justification", "acte 2026-0042")
    status, out, _ = _operator(identity_url, "account", "death", "01JNOSUCHACCOUNT", *death)
    assert status == EXIT_REFUSED
    assert "(urn:securact:problem:account-not-found)" in out
    status, out, _ = _operator(
        identity_url,
        "account",
        "death",
        "01JNOSUCHACCOUNT",
        "--died-on",
        "30/11/2026",
        "--justification",
        "x",
    )
    assert status == EXIT_REFUSED
    assert out.startswith("refused: 422 ")


def test_an_operator_publishes_cgu(identity_url: str, tmp_path: Path) -> None:
    cgu = tmp_path / "cgu-v2.md"
    cgu.write_text("# Conditions générales, version 2\n", encoding="utf-8")
    soon = (SystemClock().now() + timedelta(days=3)).isoformat()
    status, out, _ = _operator(
        identity_url, "terms", "publish", "--file", str(cgu), "--effective-at", soon
    )
    assert status == EXIT_REFUSED
    assert "urn:securact:problem:terms-notice-too-short" in out

    later = (SystemClock().now() + timedelta(days=45)).isoformat()
    status, out, _ = _operator(
        identity_url, "terms", "publish", "--file", str(cgu), "--effective-at", later
    )
    assert status == EXIT_OK, out
    assert out.startswith("CGU version 2 published")
    upcoming = httpx.get(f"{identity_url}/v1/terms/upcoming", timeout=10).json()
    assert [version["version"] for version in upcoming] == [2]


def test_a_wrong_password_never_acts(identity_url: str) -> None:
    status, out, _ = _operator(
        identity_url, "client", "disable", "anything", password="pas-le-bon-mot-de-passe"
    )
    assert status == EXIT_UNAVAILABLE
    assert "operator login refused: 401" in out
    assert "pas-le-bon-mot-de-passe" not in out


def test_an_identity_that_does_not_answer_is_named() -> None:
    status, out, _ = _operator("http://127.0.0.1:9", "client", "disable", "anything")
    assert status == EXIT_UNAVAILABLE
    assert "identity at http://127.0.0.1:9 cannot be reached" in out
