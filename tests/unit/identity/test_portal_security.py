"""Portal security: CSRF on every POST, cookie flags, opaque session cookie, headers."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi.routing import APIRoute

from identity.domain import hash_secret
from identity.portal import portal_router
from identity.portal.sessions import PORTAL_SESSIONS
from tests.unit.identity.support import PASSWORD, Rig, make_rig
from tests.unit.identity.test_portal_helpers import (
    activate,
    browser,
    csrf_of,
    portal_app,
    signed_in_recipient,
    submit,
)

PRE_LOGIN_POSTS = ["/connexion", "/activation", "/reinitialisation"]
# Posted by a recipient who accepted the CGU; the CGU answers by one who did not yet.
ACCOUNT_POSTS = [
    "/compte/mot-de-passe",
    "/compte/totp",
    "/compte/totp/confirmation",
    "/compte/totp/desactivation",
    "/compte/resiliation",
    "/donnees/compromission",
    "/donnees/rectification",
    "/donnees/directives",
    "/donnees/directives/revocation",
    "/deconnexion",
]
TERMS_POSTS = ["/cgu/acceptation", "/cgu/refus", "/cgu/declaration/refus"]
BAD_TOKENS = [None, "", "forged-token-value"]


def test_the_csrf_tests_cover_every_post_route_of_the_portal(rig: Rig) -> None:
    posts = {
        route.path
        for route in portal_router(rig.identity).routes
        if isinstance(route, APIRoute) and "POST" in (route.methods or set())
    }
    assert posts == {*PRE_LOGIN_POSTS, *ACCOUNT_POSTS, *TERMS_POSTS}


def form_with(token: str | None) -> dict[str, str]:
    data = {
        "identifiant": "X",
        "mot_de_passe": PASSWORD,
        "confirmation": "oui",
        "confirmation_resiliation": "oui",
        "version": "1",
        "token": "t",
    }
    if token is not None:
        data["csrf_token"] = token
    return data


@pytest.mark.parametrize("path", PRE_LOGIN_POSTS)
async def test_pre_login_forms_without_the_signed_token_are_refused(rig: Rig, path: str) -> None:
    async with browser(rig) as client:
        page = await client.get("/connexion")  # sets the CSRF cookie
        for token in BAD_TOKENS:
            refused = await client.post(path, data=form_with(token))
            assert refused.status_code == 403, (path, token)
            assert "Action refusée" in refused.text
        # A valid token of another browser does not match this browser's cookie.
        async with browser(rig) as other:
            foreign = csrf_of((await other.get("/connexion")).text)
        assert (await client.post(path, data=form_with(foreign))).status_code == 403
        # Without the cookie, even this browser's own token is refused.
        token = csrf_of(page.text)
        client.cookies.clear()
        assert (await client.post(path, data=form_with(token))).status_code == 403
    assert await rig.payloads("identity.identification-attempted.v1") == []


@pytest.mark.parametrize("path", ACCOUNT_POSTS)
async def test_account_forms_without_the_session_token_are_refused(rig: Rig, path: str) -> None:
    async with browser(rig) as client:
        account_id = await signed_in_recipient(rig, client)
        events = len(await rig.events())
        anonymous_token = csrf_of((await client.get("/reinitialisation")).text)
        for token in [*BAD_TOKENS, anonymous_token]:
            refused = await client.post(path, data=form_with(token))
            assert refused.status_code == 403, (path, token)
            assert "Action refusée" in refused.text
        # Still signed in, nothing changed.
        assert (await client.get("/compte")).status_code == 200
    assert len(await rig.events()) == events
    account = await rig.store.get("accounts", account_id)
    assert account is not None
    assert account["status"] == "active"
    assert not account.get("totp_pending_secret")


@pytest.mark.parametrize("path", TERMS_POSTS)
async def test_cgu_answers_without_the_session_token_are_refused(rig: Rig, path: str) -> None:
    async with browser(rig) as client:
        await activate(rig, client)
        for token in BAD_TOKENS:
            assert (await client.post(path, data=form_with(token))).status_code == 403
    assert await rig.payloads("identity.terms-accepted.v1") == []
    assert await rig.payloads("identity.terms-refused.v1") == []


async def test_a_session_token_does_not_work_for_another_session(rig: Rig) -> None:
    async with browser(rig) as mallory:
        await signed_in_recipient(rig, mallory, "decl-m")
        her_token = csrf_of((await mallory.get("/compte")).text)
    async with browser(rig) as victim:
        await signed_in_recipient(rig, victim, "decl-v")
        forged = await victim.post(
            "/compte/resiliation",
            data={"csrf_token": her_token, "confirmation_resiliation": "oui"},
        )
    assert forged.status_code == 403
    assert await rig.payloads("identity.account-terminated.v1") == []


async def test_posts_without_a_session_go_to_the_login_page(rig: Rig) -> None:
    async with browser(rig) as client:
        for path in [*ACCOUNT_POSTS, *TERMS_POSTS]:
            answer = await client.post(path, data=form_with("x"))
            assert answer.status_code == 303, path
            assert answer.headers["location"] == "/connexion"


async def test_dev_cookies_are_http_only_lax_and_not_secure(rig: Rig) -> None:
    async with browser(rig) as client:
        page = await client.get("/connexion")
        csrf_cookie = page.headers["set-cookie"]
        account_id = await rig.declare()
        token = await rig.activation_token(account_id)
        done = await submit(
            client,
            f"/activation?token={token}",
            "/activation",
            {"token": token, "mot_de_passe": PASSWORD, "confirmation": PASSWORD},
        )
    session_cookie = done.headers["set-cookie"]
    for cookie in (csrf_cookie, session_cookie):
        flags = {part.strip().lower() for part in cookie.split(";")}
        assert {"httponly", "samesite=lax", "path=/"} <= flags
        assert "secure" not in flags
    assert session_cookie.startswith("securact_session=")
    assert csrf_cookie.startswith("securact_csrf=")


async def test_outside_dev_cookies_are_secure_and_host_prefixed(tmp_path: Path) -> None:
    rig = await make_rig(
        tmp_path,
        env="production",
        allow_local_keys=True,
        amqp_url="amqp://u:p@127.0.0.1:5672/",
        ip_hash_pepper="pepper-for-this-test",
        notify_client_secret="notify-secret-for-this-test",
        delivery_client_secret="delivery-secret-for-this-test",
    )
    async with browser(rig) as client:
        page = await client.get("/connexion")
        # The Secure cookie is not sent back over http: give it as a browser on https would.
        client.cookies.set("__Host-securact_csrf", page.cookies["__Host-securact_csrf"])
        account_id = await rig.declare()
        token = await rig.activation_token(account_id)
        done = await client.post(
            "/activation",
            data={
                "csrf_token": csrf_of(page.text),
                "token": token,
                "mot_de_passe": PASSWORD,
                "confirmation": PASSWORD,
            },
        )
    assert done.status_code == 303, done.text
    for cookie in (page.headers["set-cookie"], done.headers["set-cookie"]):
        flags = {part.strip().lower() for part in cookie.split(";")}
        assert {"httponly", "samesite=lax", "path=/", "secure"} <= flags
        assert not any(flag.startswith("domain=") for flag in flags)
    assert page.headers["set-cookie"].startswith("__Host-securact_csrf=")
    assert done.headers["set-cookie"].startswith("__Host-securact_session=")


async def test_the_session_cookie_is_an_opaque_value_stored_only_hashed(rig: Rig) -> None:
    async with browser(rig) as client:
        await signed_in_recipient(rig, client)
        value = client.cookies["securact_session"]
    assert "." not in value  # not a JWT
    assert await rig.store.get(PORTAL_SESSIONS, value) is None
    record = await rig.store.get(PORTAL_SESSIONS, hash_secret(value))
    assert record is not None
    assert value not in str(record)
    assert "access_token" not in record
    assert "refresh_token" not in record


async def test_a_new_login_replaces_the_cookie_value(rig: Rig) -> None:
    account_id, _ = await rig.active_recipient()
    async with browser(rig) as client:
        await signed_in_recipient(rig, client, "decl-2")
        planted = client.cookies["securact_session"]
        await submit(client, "/compte", "/deconnexion", {})
        client.cookies.clear()
        client.cookies.set("securact_session", planted)
        done = await submit(
            client,
            "/connexion",
            "/connexion",
            {"identifiant": await rig.identifier(account_id), "mot_de_passe": PASSWORD},
        )
        assert done.status_code == 303
        fresh = done.headers["set-cookie"].split(";")[0].removeprefix("securact_session=")
        assert fresh != planted
        assert (await client.get("/compte")).status_code == 200


@pytest.mark.parametrize(
    ("path", "signed_in"),
    [
        ("/connexion", False),
        ("/activation?token=abc", False),
        ("/reinitialisation", False),
        ("/reinitialisation?token=abc", False),
        ("/cgu", False),
        ("/cgu", True),
        ("/compte", True),
    ],
)
async def test_every_portal_page_carries_the_security_headers(
    rig: Rig, path: str, signed_in: bool
) -> None:
    async with browser(rig) as client:
        if signed_in:
            await signed_in_recipient(rig, client)
        page = await client.get(path)
    # A forged link token is refused at once (410), with the same headers as any page.
    assert page.status_code == (410 if "token=" in path else 200)
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["content-type"] == "text/html; charset=utf-8"


async def test_refusals_and_redirects_carry_the_headers_too(rig: Rig) -> None:
    async with browser(rig) as client:
        refused = await client.post("/connexion", data={})
        redirected = await client.get("/compte")
    for answer in (refused, redirected):
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["cache-control"] == "no-store"


async def test_the_stylesheet_is_served_as_css(rig: Rig) -> None:
    transport = httpx.ASGITransport(app=portal_app(rig))
    async with httpx.AsyncClient(transport=transport, base_url="http://portail.test") as client:
        css = await client.get("/portail/static/portail.css")
    assert css.status_code == 200
    assert css.headers["content-type"] == "text/css; charset=utf-8"
    assert ".lien-evitement:focus" in css.text
