"""`securact-operator`: the operator's actions through identity's API, as the portal would do.

It logs in as an operator (`POST /v1/sessions`: identifier, password from stdin or a prompt,
TOTP code when enrolled), runs one command with that session's bearer token, and logs out
(`DELETE /v1/sessions/current`). Every action is therefore authenticated, authorised (operator
role) and journaled by the service exactly as from the portal: nothing touches a store.

    securact-operator [--identity-url URL] --operator ID [--password-stdin] [--totp CODE] \\
        client register --office-id ID --bailiff-name NAME --scope S [--scope S …]
        client rotate-secret CLIENT_ID | client disable CLIENT_ID | client enable CLIENT_ID
        terms publish --file CGU.md --effective-at 2027-02-01T00:00:00Z
        account suspend ACCOUNT_ID --reason CODE | account reinstate ACCOUNT_ID
        account death ACCOUNT_ID --died-on 2027-01-31 --justification REFERENCE

It says on stderr which identity and operator it used. Exit 0 when done; 1 when identity
refuses (its problem's status, title, detail and type are printed); 2 when identity cannot be
reached or the login fails. A client secret is printed once, on stdout, and nowhere else.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final, TextIO

import httpx

EXIT_OK: Final = 0
EXIT_REFUSED: Final = 1
EXIT_UNAVAILABLE: Final = 2
DEFAULT_IDENTITY_URL: Final = "http://127.0.0.1:8101"
IDENTITY_URL_VARIABLE: Final = "SECURACT_IDENTITY_URL"


class Refused(Exception):  # noqa: N818 - an outcome: identity said no
    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        super().__init__(describe_refusal(response))


def describe_refusal(response: httpx.Response) -> str:
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and "title" in body:
        detail = f": {body['detail']}" if body.get("detail") else ""
        return f"{response.status_code} {body['title']}{detail} ({body.get('type', 'about:blank')})"
    return f"{response.status_code} {response.reason_phrase}"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="securact-operator",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--identity-url",
        default=os.environ.get(IDENTITY_URL_VARIABLE, DEFAULT_IDENTITY_URL),
        help=f"identity's base URL (default: ${IDENTITY_URL_VARIABLE} or {DEFAULT_IDENTITY_URL})",
    )
    parser.add_argument("--operator", required=True, help="the operator's identifier")
    parser.add_argument("--password-stdin", action="store_true", help="read it from stdin")
    parser.add_argument("--totp", help="TOTP or recovery code, when the operator enrolled one")
    subjects = parser.add_subparsers(dest="subject", required=True)

    client = subjects.add_parser("client", help="an office's API client").add_subparsers(
        dest="action", required=True
    )
    register = client.add_parser("register", help="register an office client (secret shown once)")
    register.add_argument("--office-id", required=True)
    register.add_argument("--bailiff-name", required=True)
    register.add_argument("--scope", action="append", required=True, help="repeatable")
    for action, text in (
        ("rotate-secret", "a new secret (shown once); the previous one stops working"),
        ("disable", "refuse its tokens from now on and revoke the current ones"),
        ("enable", "accept it again"),
    ):
        client.add_parser(action, help=text).add_argument("client_id")

    terms = subjects.add_parser("terms", help="the CGU").add_subparsers(
        dest="action", required=True
    )
    publish = terms.add_parser("publish", help="publish a CGU version (Markdown file)")
    publish.add_argument("--file", required=True, type=Path)
    publish.add_argument("--effective-at", required=True, help="ISO instant, 1 month to 1 year")

    account = subjects.add_parser("account", help="a recipient's account").add_subparsers(
        dest="action", required=True
    )
    suspend = account.add_parser("suspend", help="suspend (every token dies, no login)")
    suspend.add_argument("account_id")
    suspend.add_argument("--reason", required=True, help="a reason code, no names")
    account.add_parser("reinstate", help="lift a suspension").add_argument("account_id")
    death = account.add_parser(
        "death", help="record the holder's death: the account closes, their directives apply"
    )
    death.add_argument("account_id")
    death.add_argument("--died-on", required=True, help="the date of death, YYYY-MM-DD")
    death.add_argument(
        "--justification", required=True, help="the proving document's reference, no names"
    )
    return parser


def _password(options: argparse.Namespace, stdin: TextIO) -> str:
    if options.password_stdin:
        return stdin.readline().rstrip("\n")
    return getpass.getpass("Operator password: ")


def _checked(response: httpx.Response) -> httpx.Response:
    if response.status_code >= 400:
        raise Refused(response)
    return response


def _run(options: argparse.Namespace, http: httpx.Client, out: TextIO) -> None:
    """The command, with `http` authenticated as the operator."""
    subject, action = options.subject, options.action
    if subject == "client" and action == "register":
        body = {
            "office_id": options.office_id,
            "bailiff_name": options.bailiff_name,
            "scopes": options.scope,
        }
        registered = _checked(http.post("/v1/clients", json=body)).json()
        out.write(
            f"client {registered['client_id']} registered for office {registered['office_id']} "
            f"(scopes: {' '.join(registered['scopes'])})\n"
            f"client secret (shown once): {registered['client_secret']}\n"
        )
    elif subject == "client" and action == "rotate-secret":
        rotated = _checked(http.post(f"/v1/clients/{options.client_id}/secret-rotation")).json()
        out.write(
            f"client {rotated['client_id']}: new secret (shown once, the previous one no "
            f"longer works): {rotated['client_secret']}\n"
        )
    elif subject == "client":
        path = f"/v1/clients/{options.client_id}/deactivation"
        _checked(http.post(path) if action == "disable" else http.delete(path))
        out.write(f"client {options.client_id} {action}d\n")
    elif subject == "terms":
        markdown = options.file.read_text(encoding="utf-8")
        body = {"markdown": markdown, "effective_at": options.effective_at}
        published = _checked(http.post("/v1/terms", json=body)).json()
        out.write(
            f"CGU version {published.get('version')} published, effective "
            f"{published.get('effective_at')}\n"
        )
    elif action == "suspend":
        path = f"/v1/accounts/{options.account_id}/suspension"
        _checked(http.post(path, json={"reason": options.reason}))
        out.write(f"account {options.account_id} suspended\n")
    elif action == "death":
        body = {"died_on": options.died_on, "justification": options.justification}
        recorded = _checked(http.post(f"/v1/accounts/{options.account_id}/death", json=body))
        death = recorded.json()
        informed = "informed" if death["designated_person_informed"] else "none designated"
        out.write(
            f"account {options.account_id}: death recorded, erasure {death['erasure']}, "
            f"designated person: {informed}\n"
        )
    else:
        _checked(http.delete(f"/v1/accounts/{options.account_id}/suspension"))
        out.write(f"account {options.account_id} reinstated\n")


def main(
    argv: Sequence[str] | None = None,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
    stdin: TextIO = sys.stdin,
    transport: httpx.BaseTransport | None = None,
) -> int:
    """Run one command; returns the process exit status."""
    options = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    if options.subject == "terms" and not options.file.is_file():
        out.write(f"error: no CGU file at {options.file.resolve()}\n")
        return EXIT_REFUSED
    url = options.identity_url.rstrip("/")
    err.write(f"identity: {url}\noperator: {options.operator}\n")
    password = _password(options, stdin)
    with httpx.Client(base_url=url, timeout=30.0, transport=transport) as http:
        try:
            login = {"identifier": options.operator, "password": password, "totp": options.totp}
            response = http.post("/v1/sessions", json=login)
            if response.status_code != 201:
                out.write(f"error: operator login refused: {describe_refusal(response)}\n")
                return EXIT_UNAVAILABLE
            session = response.json()
            if session.get("role") != "operator":
                out.write(f"error: {options.operator} is not an operator account\n")
                http.delete(
                    "/v1/sessions/current",
                    headers={"Authorization": f"Bearer {session['access_token']}"},
                )
                return EXIT_UNAVAILABLE
            http.headers["Authorization"] = f"Bearer {session['access_token']}"
            try:
                _run(options, http, out)
            except Refused as refused:
                out.write(f"refused: {refused}\n")
                return EXIT_REFUSED
            finally:
                http.delete("/v1/sessions/current")
        except httpx.HTTPError as error:
            out.write(f"error: identity at {url} cannot be reached ({type(error).__name__})\n")
            return EXIT_UNAVAILABLE
    return EXIT_OK
